import { describe, expect, it } from "vitest";
import type { UserErrorCode } from "../../src/domain/errors.ts";
import {
  isValidAbaRoutingNumber,
  maskSecret,
  parsePayoutMethod,
  payoutMethodLabel,
  PAYOUT_METHOD_TYPES,
  type ParsedPayoutMethod,
  type PayoutMethodInput,
} from "../../src/domain/payout-method.ts";

// Known-valid test numbers: the IBAN registry's and banks' published examples.
const DE_IBAN = "DE89370400440532013000";
const GB_IBAN = "GB82WEST12345698765432";
const FR_IBAN = "FR1420041010050500013M02606";

function parsed(input: PayoutMethodInput): ParsedPayoutMethod {
  const result = parsePayoutMethod(input);
  if (!result.ok) throw new Error(`expected ${input.type} to be accepted: ${JSON.stringify(result.errors)}`);
  return result.value;
}

/** [code, field path] of each error, in order. */
function problems(input: PayoutMethodInput, path?: string[]): [UserErrorCode, string | undefined][] {
  const result = parsePayoutMethod(input, path);
  if (result.ok) throw new Error(`expected ${input.type} to be refused: ${JSON.stringify(result.value)}`);
  return result.errors.map((error) => [error.code, error.field?.join(".")]);
}

describe("ABA routing numbers: 9 digits, 3-7-1 weighted sum ≡ 0 mod 10", () => {
  it.each([
    ["021000021", true], // JPMorgan Chase NY: 0·3+2·7+1·1+0+0+0+0·3+2·7+1·1 = 30
    ["011000015", true], // Federal Reserve Boston
    ["111000025", true], // Bank of America TX
    ["021000022", false], // sum 31
    ["121000358", true], // Bank of America CA
    ["121000359", false],
    ["02100002", false], // 8 digits
    ["0210000210", false], // 10 digits
    ["02100002a", false],
    ["", false],
  ])("%s → %s", (routing, valid) => {
    expect(isValidAbaRoutingNumber(routing)).toBe(valid);
  });

  it("catches every single-digit typo of a valid number", () => {
    const valid = "021000021";
    for (let position = 0; position < 9; position += 1) {
      for (let digit = 0; digit <= 9; digit += 1) {
        const typo = `${valid.slice(0, position)}${digit}${valid.slice(position + 1)}`;
        if (typo !== valid) expect(isValidAbaRoutingNumber(typo)).toBe(false);
      }
    }
  });
});

describe("accepting each type", () => {
  it.each<[string, PayoutMethodInput, Omit<ParsedPayoutMethod, "type">]>([
    ["PayPal, email lower-cased", { type: "PAYPAL", email: " Jane@Example.com " }, { details: { email: "jane@example.com" }, secret: null, secretLast4: null, currency: null }],
    ["Wise", { type: "WISE", email: "jane@example.com", currency: "EUR" }, { details: { email: "jane@example.com" }, secret: null, secretLast4: null, currency: "EUR" }],
    [
      "Wise to an IBAN",
      { type: "WISE", currency: "EUR", accountName: "Jane Doe", iban: "de89 3704 0044 0532 0130 00" },
      { details: { accountName: "Jane Doe", country: "DE" }, secret: DE_IBAN, secretLast4: "3000", currency: "EUR" },
    ],
    [
      "Wise to a UK sort code, typed with dashes",
      { type: "WISE", currency: "GBP", accountName: "Jane Doe", sortCode: "23-14-70", accountNumber: "2882 1822" },
      { details: { accountName: "Jane Doe", sortCode: "231470" }, secret: "28821822", secretLast4: "1822", currency: "GBP" },
    ],
    [
      "Wise to a US ACH account, with the address Wise needs",
      {
        type: "WISE",
        currency: "USD",
        accountName: "Jane Doe",
        routingNumber: "111000025",
        accountNumber: "12345678",
        accountType: "CHECKING",
        addressLine1: "1 Main St",
        city: "Austin",
        region: "TX",
        postalCode: "78701",
        country: "US",
      },
      {
        details: {
          accountName: "Jane Doe",
          routingNumber: "111000025",
          accountType: "CHECKING",
          addressLine1: "1 Main St",
          city: "Austin",
          region: "TX",
          postalCode: "78701",
          country: "US",
        },
        secret: "12345678",
        secretLast4: "5678",
        currency: "USD",
      },
    ],
    ["Stripe", { type: "STRIPE", accountId: " acct_1Nv0FGQ9RKHgCVdK " }, { details: { accountId: "acct_1Nv0FGQ9RKHgCVdK" }, secret: null, secretLast4: null, currency: null }],
    [
      "bank transfer, DE IBAN typed in groups and lower case",
      { type: "BANK_TRANSFER", accountName: " Jane Doe ", iban: "de89 3704 0044 0532 0130 00", bic: "deut de ff", bankName: "Commerzbank" },
      {
        details: { accountName: "Jane Doe", bic: "DEUTDEFF", bankName: "Commerzbank", country: "DE" },
        secret: DE_IBAN,
        secretLast4: "3000",
        currency: null,
      },
    ],
    [
      "bank transfer, GB IBAN, no BIC or bank name",
      { type: "BANK_TRANSFER", accountName: "Jane Doe", iban: "GB82 WEST 1234 5698 7654 32" },
      { details: { accountName: "Jane Doe", country: "GB" }, secret: GB_IBAN, secretLast4: "5432", currency: null },
    ],
    [
      "bank transfer, FR IBAN with a letter in the BBAN, 11-character BIC",
      { type: "BANK_TRANSFER", accountName: "Jeanne Dupont", iban: FR_IBAN, bic: "BNPAFRPPXXX" },
      { details: { accountName: "Jeanne Dupont", bic: "BNPAFRPPXXX", country: "FR" }, secret: FR_IBAN, secretLast4: "2606", currency: null },
    ],
    [
      "ACH: the routing number is public, the account number is the secret",
      { type: "ACH", accountName: "Jane Doe", routingNumber: "021000021", accountNumber: "000123456789", accountType: "CHECKING" },
      {
        details: { accountName: "Jane Doe", routingNumber: "021000021", accountType: "CHECKING" },
        secret: "000123456789", // leading zeros kept: an account number is not a number
        secretLast4: "6789",
        currency: null,
      },
    ],
    [
      "ACH savings, shortest account number (4 digits)",
      { type: "ACH", accountName: "Jane Doe", routingNumber: "011000015", accountNumber: "1234", accountType: "SAVINGS" },
      { details: { accountName: "Jane Doe", routingNumber: "011000015", accountType: "SAVINGS" }, secret: "1234", secretLast4: "1234", currency: null },
    ],
    [
      "wire with every field",
      {
        type: "WIRE",
        accountName: "Jane Doe Ltd",
        accountNumber: "gb82 west 1234 5698 7654 32",
        bic: "NWBKGB2L",
        bankName: "NatWest",
        bankAddress: "250 Bishopsgate, London",
        routingNumber: "021000021",
      },
      {
        details: {
          accountName: "Jane Doe Ltd",
          bic: "NWBKGB2L",
          bankName: "NatWest",
          bankAddress: "250 Bishopsgate, London",
          routingNumber: "021000021",
        },
        secret: GB_IBAN,
        secretLast4: "5432",
        currency: null,
      },
    ],
    [
      "wire, required fields only",
      { type: "WIRE", accountName: "Jane Doe", accountNumber: "12345", bic: "DEUTDEFF", bankName: "Deutsche Bank" },
      { details: { accountName: "Jane Doe", bic: "DEUTDEFF", bankName: "Deutsche Bank" }, secret: "12345", secretLast4: "2345", currency: null },
    ],
    [
      "check with every field",
      {
        type: "CHECK",
        payeeName: "Jane Doe",
        addressLine1: "1 Main St",
        addressLine2: "Apt 2",
        city: "Springfield",
        region: "IL",
        postalCode: "62701",
        country: "us",
      },
      {
        details: {
          payeeName: "Jane Doe",
          addressLine1: "1 Main St",
          addressLine2: "Apt 2",
          city: "Springfield",
          region: "IL",
          postalCode: "62701",
          country: "US",
        },
        secret: null,
        secretLast4: null,
        currency: null,
      },
    ],
    [
      "check, required fields only",
      { type: "CHECK", payeeName: "Jane Doe", addressLine1: "1 Main St", city: "Toronto", postalCode: "M5V 2T6", country: "CA" },
      {
        details: { payeeName: "Jane Doe", addressLine1: "1 Main St", city: "Toronto", postalCode: "M5V 2T6", country: "CA" },
        secret: null,
        secretLast4: null,
        currency: null,
      },
    ],
    ["Venmo, @ added", { type: "VENMO", handle: "jane-doe_1" }, { details: { handle: "@jane-doe_1" }, secret: null, secretLast4: null, currency: null }],
    ["Venmo, @ kept", { type: "VENMO", handle: "@JaneDoe" }, { details: { handle: "@JaneDoe" }, secret: null, secretLast4: null, currency: null }],
    ["Zelle by email", { type: "ZELLE", email: "jane@example.com" }, { details: { email: "jane@example.com" }, secret: null, secretLast4: null, currency: null }],
    ["Zelle by phone, punctuation removed", { type: "ZELLE", phone: "+1 (555) 123-4567" }, { details: { phone: "+15551234567" }, secret: null, secretLast4: null, currency: null }],
    ["store credit, nothing", { type: "STORE_CREDIT" }, { details: {}, secret: null, secretLast4: null, currency: null }],
    [
      "store credit with instructions",
      { type: "STORE_CREDIT", instructions: "Apply to account #42" },
      { details: { instructions: "Apply to account #42" }, secret: null, secretLast4: null, currency: null },
    ],
    [
      "other, 500 characters of instructions",
      { type: "OTHER", instructions: "x".repeat(500) },
      { details: { instructions: "x".repeat(500) }, secret: null, secretLast4: null, currency: null },
    ],
  ])("%s", (_name, input, expected) => {
    expect(parsed(input)).toEqual({ type: input.type, ...expected });
  });

  it("covers every type", () => {
    expect(PAYOUT_METHOD_TYPES).toEqual(["PAYPAL", "WISE", "BANK_TRANSFER", "ACH", "WIRE", "CHECK", "VENMO", "ZELLE", "STORE_CREDIT", "OTHER", "STRIPE"]);
  });

  it("treats explicit nulls as absent", () => {
    expect(parsed({ type: "PAYPAL", email: "jane@example.com", iban: null, bic: null, instructions: null }).details).toEqual({
      email: "jane@example.com",
    });
  });
});

const bank = { type: "BANK_TRANSFER", accountName: "Jane Doe" } as const;
const ach = { type: "ACH", accountName: "Jane Doe", routingNumber: "021000021", accountNumber: "123456789", accountType: "CHECKING" } as const;
const wire = { type: "WIRE", accountName: "Jane Doe", accountNumber: "12345678", bic: "DEUTDEFF", bankName: "Deutsche Bank" } as const;
const check = { type: "CHECK", payeeName: "Jane Doe", addressLine1: "1 Main St", city: "Springfield", postalCode: "62701", country: "US" } as const;

describe("refusing bad input, each problem on its field", () => {
  it.each<[string, PayoutMethodInput, [UserErrorCode, string | undefined][]]>([
    // IBANs
    ["IBAN with a wrong check digit (…33 for …32)", { ...bank, iban: "GB82 WEST 1234 5698 7654 33" }, [["INVALID_IBAN", "input.iban"]]],
    ["IBAN with swapped digits", { ...bank, iban: "DE89370400440532031000" }, [["INVALID_IBAN", "input.iban"]]],
    ["IBAN one character short (DE is 22)", { ...bank, iban: "DE8937040044053201300" }, [["INVALID_IBAN", "input.iban"]]],
    ["IBAN one character long", { ...bank, iban: "GB82WEST123456987654320" }, [["INVALID_IBAN", "input.iban"]]],
    ["IBAN of a country without IBANs", { ...bank, iban: "US12345678901234567890" }, [["INVALID_IBAN", "input.iban"]]],
    ["IBAN that is not one at all", { ...bank, iban: "not an iban" }, [["INVALID_IBAN", "input.iban"]]],
    ["empty IBAN", { ...bank, iban: "" }, [["INVALID_IBAN", "input.iban"]]],
    ["Swiss QR-IBAN (QR-bill payments only)", { ...bank, iban: "CH4431999123000889012" }, [["INVALID_IBAN", "input.iban"]]],
    // BICs
    ["BIC of 7 characters", { ...bank, iban: DE_IBAN, bic: "DEUTDEF" }, [["INVALID_BIC", "input.bic"]]],
    ["BIC of 9 characters", { ...bank, iban: DE_IBAN, bic: "DEUTDEFF5" }, [["INVALID_BIC", "input.bic"]]],
    ["BIC with a digit in the bank code", { ...bank, iban: DE_IBAN, bic: "DEU1DEFF" }, [["INVALID_BIC", "input.bic"]]],
    ["BIC with an unknown country", { ...bank, iban: DE_IBAN, bic: "DEUTQQFF" }, [["INVALID_BIC", "input.bic"]]],
    ["wire with a bad BIC", { ...wire, bic: "NWBK-GB2L" }, [["INVALID_BIC", "input.bic"]]],
    // routing numbers
    ["ACH routing number failing the checksum", { ...ach, routingNumber: "021000022" }, [["INVALID_ROUTING_NUMBER", "input.routingNumber"]]],
    ["ACH routing number of 8 digits", { ...ach, routingNumber: "02100002" }, [["INVALID_ROUTING_NUMBER", "input.routingNumber"]]],
    ["wire routing number failing the checksum", { ...wire, routingNumber: "021000022" }, [["INVALID_ROUTING_NUMBER", "input.routingNumber"]]],
    // account numbers
    ["ACH account number with a letter", { ...ach, accountNumber: "12345678A" }, [["INVALID_INPUT", "input.accountNumber"]]],
    ["ACH account number with dashes", { ...ach, accountNumber: "1234-5678" }, [["INVALID_INPUT", "input.accountNumber"]]],
    ["ACH account number of 3 digits", { ...ach, accountNumber: "123" }, [["INVALID_INPUT", "input.accountNumber"]]],
    ["ACH account number of 18 digits", { ...ach, accountNumber: "1".repeat(18) }, [["INVALID_INPUT", "input.accountNumber"]]],
    ["ACH account type not CHECKING or SAVINGS", { ...ach, accountType: "MONEY_MARKET" as "CHECKING" }, [["INVALID_INPUT", "input.accountType"]]],
    ["wire account number of 4 characters", { ...wire, accountNumber: "1234" }, [["INVALID_INPUT", "input.accountNumber"]]],
    ["wire account number of 35 characters", { ...wire, accountNumber: "A".repeat(35) }, [["INVALID_INPUT", "input.accountNumber"]]],
    ["wire account number with punctuation", { ...wire, accountNumber: "1234/5678" }, [["INVALID_INPUT", "input.accountNumber"]]],
    // emails and currencies
    ["PayPal with a bad email", { type: "PAYPAL", email: "jane@" }, [["INVALID_EMAIL", "input.email"]]],
    ["PayPal with no email", { type: "PAYPAL" }, [["INVALID_INPUT", "input.email"]]],
    ["Wise with a bad email", { type: "WISE", email: "jane.example.com", currency: "EUR" }, [["INVALID_EMAIL", "input.email"]]],
    ["Wise with an unknown currency", { type: "WISE", email: "jane@example.com", currency: "ABC" }, [["INVALID_CURRENCY", "input.currency"]]],
    ["Wise with gold (not money)", { type: "WISE", email: "jane@example.com", currency: "XAU" }, [["INVALID_CURRENCY", "input.currency"]]],
    ["Wise with no currency", { type: "WISE", email: "jane@example.com" }, [["INVALID_INPUT", "input.currency"]]],
    ["Wise with an email and an IBAN", { type: "WISE", email: "jane@example.com", iban: DE_IBAN, currency: "EUR" }, [["INVALID_INPUT", "input"]]],
    ["Wise with no way to reach the recipient", { type: "WISE", currency: "EUR" }, [["INVALID_INPUT", "input"]]],
    ["Wise to an IBAN with a bad check digit", { type: "WISE", currency: "EUR", accountName: "Jane Doe", iban: "DE89370400440532013001" }, [["INVALID_IBAN", "input.iban"]]],
    [
      "Wise to an IBAN with a routing number's account type",
      { type: "WISE", currency: "EUR", accountName: "Jane Doe", iban: DE_IBAN, accountType: "CHECKING" },
      [["INVALID_INPUT", "input.accountType"]],
    ],
    [
      "Wise sort code paid in euros",
      { type: "WISE", currency: "EUR", accountName: "Jane Doe", sortCode: "231470", accountNumber: "28821822" },
      [["INVALID_CURRENCY", "input.currency"]],
    ],
    [
      "Wise sort code of five digits and a short account number",
      { type: "WISE", currency: "GBP", accountName: "Jane Doe", sortCode: "23147", accountNumber: "2882182" },
      [
        ["INVALID_INPUT", "input.sortCode"],
        ["INVALID_INPUT", "input.accountNumber"],
      ],
    ],
    [
      "Wise ACH without its address",
      { type: "WISE", currency: "USD", accountName: "Jane Doe", routingNumber: "111000025", accountNumber: "12345678", accountType: "CHECKING" },
      [
        ["INVALID_INPUT", "input.country"],
        ["INVALID_INPUT", "input.addressLine1"],
        ["INVALID_INPUT", "input.city"],
        ["INVALID_INPUT", "input.postalCode"],
      ],
    ],
    ["Stripe with something else than an account id", { type: "STRIPE", accountId: "ba_123" }, [["INVALID_INPUT", "input.accountId"]]],
    ["Stripe with an email", { type: "STRIPE", accountId: "acct_1", email: "jane@example.com" }, [["INVALID_INPUT", "input.email"]]],
    ["Zelle with a bad email", { type: "ZELLE", email: "jane" }, [["INVALID_EMAIL", "input.email"]]],
    // missing fields
    [
      "bank transfer with nothing",
      { type: "BANK_TRANSFER" },
      [
        ["INVALID_INPUT", "input.accountName"],
        ["INVALID_INPUT", "input.iban"],
      ],
    ],
    [
      "ACH with nothing",
      { type: "ACH" },
      [
        ["INVALID_INPUT", "input.accountName"],
        ["INVALID_INPUT", "input.routingNumber"],
        ["INVALID_INPUT", "input.accountNumber"],
        ["INVALID_INPUT", "input.accountType"],
      ],
    ],
    [
      "wire with nothing",
      { type: "WIRE" },
      [
        ["INVALID_INPUT", "input.accountName"],
        ["INVALID_INPUT", "input.accountNumber"],
        ["INVALID_INPUT", "input.bic"],
        ["INVALID_INPUT", "input.bankName"],
      ],
    ],
    [
      "check with nothing",
      { type: "CHECK" },
      [
        ["INVALID_INPUT", "input.payeeName"],
        ["INVALID_INPUT", "input.addressLine1"],
        ["INVALID_INPUT", "input.city"],
        ["INVALID_INPUT", "input.postalCode"],
        ["INVALID_INPUT", "input.country"],
      ],
    ],
    ["check with a blank payee", { ...check, payeeName: "   " }, [["INVALID_INPUT", "input.payeeName"]]],
    ["check to an unknown country", { ...check, country: "XX" }, [["INVALID_INPUT", "input.country"]]],
    ["check to a country name", { ...check, country: "Germany" }, [["INVALID_INPUT", "input.country"]]],
    ["Venmo with no handle", { type: "VENMO" }, [["INVALID_INPUT", "input.handle"]]],
    ["Venmo handle of 4 characters", { type: "VENMO", handle: "@jane" }, [["INVALID_INPUT", "input.handle"]]],
    ["Venmo handle of 31 characters", { type: "VENMO", handle: "a".repeat(31) }, [["INVALID_INPUT", "input.handle"]]],
    ["Venmo handle with a space", { type: "VENMO", handle: "@jane doe" }, [["INVALID_INPUT", "input.handle"]]],
    ["other with no instructions", { type: "OTHER" }, [["INVALID_INPUT", "input.instructions"]]],
    ["other with blank instructions", { type: "OTHER", instructions: "  " }, [["INVALID_INPUT", "input.instructions"]]],
    ["store credit with 501 characters of instructions", { type: "STORE_CREDIT", instructions: "x".repeat(501) }, [["INVALID_INPUT", "input.instructions"]]],
    // Zelle: exactly one of email and phone
    ["Zelle with both email and phone", { type: "ZELLE", email: "jane@example.com", phone: "+15551234567" }, [["INVALID_INPUT", "input"]]],
    ["Zelle with neither", { type: "ZELLE" }, [["INVALID_INPUT", "input"]]],
    ["Zelle phone without +", { type: "ZELLE", phone: "5551234567" }, [["INVALID_INPUT", "input.phone"]]],
    ["Zelle phone of 7 digits", { type: "ZELLE", phone: "+1234567" }, [["INVALID_INPUT", "input.phone"]]],
    ["Zelle phone of 16 digits", { type: "ZELLE", phone: "+1234567890123456" }, [["INVALID_INPUT", "input.phone"]]],
    // fields another type uses
    ["PayPal with an IBAN", { type: "PAYPAL", email: "jane@example.com", iban: DE_IBAN }, [["INVALID_INPUT", "input.iban"]]],
    ["PayPal with a currency (only Wise takes one)", { type: "PAYPAL", email: "jane@example.com", currency: "USD" }, [["INVALID_INPUT", "input.currency"]]],
    ["bank transfer with a routing number", { ...bank, iban: DE_IBAN, routingNumber: "021000021" }, [["INVALID_INPUT", "input.routingNumber"]]],
    ["ACH with an IBAN", { ...ach, iban: DE_IBAN }, [["INVALID_INPUT", "input.iban"]]],
    ["wire with an empty-string account type", { ...wire, accountType: "" as "CHECKING" }, [["INVALID_INPUT", "input.accountType"]]],
    ["check with an email", { ...check, email: "jane@example.com" }, [["INVALID_INPUT", "input.email"]]],
    ["store credit with a handle", { type: "STORE_CREDIT", handle: "@jane-doe" }, [["INVALID_INPUT", "input.handle"]]],
    [
      "Venmo with a phone and an address",
      { type: "VENMO", handle: "@jane-doe", phone: "+15551234567", city: "Springfield" },
      [
        ["INVALID_INPUT", "input.phone"],
        ["INVALID_INPUT", "input.city"],
      ],
    ],
    ["unknown type", { type: "CRYPTO" as "OTHER", instructions: "wallet 0x…" }, [["INVALID_INPUT", "input.type"]]],
    ["a type named like an Object method", { type: "toString" as "OTHER" }, [["INVALID_INPUT", "input.type"]]],
  ])("%s", (_name, input, expected) => {
    expect(problems(input)).toEqual(expected);
  });

  it("lists every problem at once, not just the first", () => {
    expect(
      problems({
        type: "ACH",
        accountName: "",
        routingNumber: "021000022",
        accountNumber: "12-34",
        accountType: "SAVINGS",
        iban: GB_IBAN,
      }),
    ).toEqual([
      ["INVALID_INPUT", "input.iban"],
      ["INVALID_INPUT", "input.accountName"],
      ["INVALID_ROUTING_NUMBER", "input.routingNumber"],
      ["INVALID_INPUT", "input.accountNumber"],
    ]);
    expect(problems({ ...bank, iban: "GB82WEST12345698765433", bic: "NWBK" })).toEqual([
      ["INVALID_IBAN", "input.iban"],
      ["INVALID_BIC", "input.bic"],
    ]);
  });

  it("puts errors under the given path", () => {
    expect(problems({ type: "PAYPAL", email: "nope" }, ["input", "details"])).toEqual([["INVALID_EMAIL", "input.details.email"]]);
    expect(problems({ type: "ZELLE" }, ["input", "details"])).toEqual([["INVALID_INPUT", "input.details"]]);
  });

  it("says which field a type does not take, in words a person can act on", () => {
    const result = parsePayoutMethod({ type: "PAYPAL", email: "jane@example.com", iban: DE_IBAN });
    expect(!result.ok && result.errors[0]?.message).toBe("a PAYPAL method takes no iban");
    const ach = parsePayoutMethod({ type: "ACH" });
    expect(!ach.ok && ach.errors[0]?.message).toBe("an ACH method needs an account name");
  });

  it("never repeats a bank account number in an error message", () => {
    const secrets = ["GB82WEST12345698765433", "DE8937040044053201300", "12345678A"];
    const results = [parsePayoutMethod({ ...bank, iban: secrets[0] }), parsePayoutMethod({ ...bank, iban: secrets[1] }), parsePayoutMethod({ ...ach, accountNumber: secrets[2] })];
    results.forEach((result, index) => {
      expect(result.ok).toBe(false);
      if (!result.ok) for (const error of result.errors) expect(error.message).not.toContain(secrets[index]!.slice(4));
    });
  });
});

describe("showing a method", () => {
  it.each([
    [null, null],
    ["1234", "•••• 1234"],
  ])("masks %j as %j", (last4, masked) => {
    expect(maskSecret(last4)).toBe(masked);
  });

  it.each<[PayoutMethodInput, string]>([
    [{ type: "PAYPAL", email: "jane@example.com" }, "PayPal jane@example.com"],
    [{ type: "WISE", email: "jane@example.com", currency: "EUR" }, "Wise jane@example.com"],
    [{ type: "WISE", currency: "EUR", accountName: "Jane Doe", iban: DE_IBAN }, "Wise DE•••• 3000"],
    [{ type: "WISE", currency: "GBP", accountName: "Jane Doe", sortCode: "231470", accountNumber: "28821822" }, "Wise •••• 1822"],
    [{ type: "STRIPE", accountId: "acct_1Nv0FGQ9RKHgCVdK" }, "Stripe acct_1Nv0FGQ9RKHgCVdK"],
    [{ ...bank, iban: DE_IBAN }, "Bank transfer DE•••• 3000"],
    [ach, "ACH checking •••• 6789"],
    [{ ...ach, accountType: "SAVINGS" }, "ACH savings •••• 6789"],
    [wire, "Wire Deutsche Bank •••• 5678"],
    [check, "Check to Jane Doe"],
    [{ type: "VENMO", handle: "jane-doe" }, "Venmo @jane-doe"],
    [{ type: "ZELLE", email: "jane@example.com" }, "Zelle jane@example.com"],
    [{ type: "ZELLE", phone: "+1 555 123 4567" }, "Zelle +15551234567"],
    [{ type: "STORE_CREDIT" }, "Store credit"],
    [{ type: "OTHER", instructions: "Cash at the\nfront desk" }, "Other: Cash at the front desk"],
    [{ type: "OTHER", instructions: "x".repeat(100) }, `Other: ${"x".repeat(39)}…`], // cut to 40 characters
  ])("%j → %s", (input, label) => {
    expect(payoutMethodLabel(parsed(input))).toBe(label);
  });

  it("degrades instead of throwing on details missing a key", () => {
    expect(payoutMethodLabel({ type: "BANK_TRANSFER", details: {}, secretLast4: null })).toBe("Bank transfer");
    expect(payoutMethodLabel({ type: "ACH", details: {}, secretLast4: "6789" })).toBe("ACH •••• 6789");
    expect(payoutMethodLabel({ type: "PAYPAL", details: {}, secretLast4: null })).toBe("PayPal");
  });
});
