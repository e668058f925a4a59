import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { errorMessage, humanize } from "../shared/format.ts";
import type { BillingEntityType, PayoutMethodInput, PayoutMethodType, PortalPaymentDetailsQuery, TaxForm } from "../gql/graphql.ts";
import { AddPayoutMethodDoc, DefaultPayoutMethodDoc, PortalPaymentDetailsDoc, RemovePayoutMethodDoc, SetBillingProfileDoc } from "./documents.ts";

type MethodField = Exclude<keyof PayoutMethodInput, "type">;

/** Which fields each payout method takes (the API says the same in PayoutMethodInput). */
const METHOD_FIELDS: Record<PayoutMethodType, { field: MethodField; label: string; optional?: boolean }[]> = {
  PAYPAL: [{ field: "email", label: "PayPal email" }],
  WISE: [
    { field: "email", label: "Wise email" },
    { field: "currency", label: "Currency (like EUR)" },
  ],
  STRIPE: [{ field: "accountId", label: "Stripe account (acct_…)" }],
  BANK_TRANSFER: [
    { field: "accountName", label: "Account holder" },
    { field: "iban", label: "IBAN" },
    { field: "bic", label: "BIC", optional: true },
  ],
  ACH: [
    { field: "accountName", label: "Account holder" },
    { field: "routingNumber", label: "Routing number" },
    { field: "accountNumber", label: "Account number" },
  ],
  WIRE: [
    { field: "accountName", label: "Account holder" },
    { field: "accountNumber", label: "Account number" },
    { field: "bic", label: "BIC" },
    { field: "bankName", label: "Bank name" },
    { field: "bankAddress", label: "Bank address", optional: true },
    { field: "routingNumber", label: "Routing number", optional: true },
  ],
  CHECK: [
    { field: "payeeName", label: "Payee" },
    { field: "addressLine1", label: "Address" },
    { field: "city", label: "City" },
    { field: "region", label: "State or region", optional: true },
    { field: "postalCode", label: "Postal code" },
    { field: "country", label: "Country (like US)" },
  ],
  VENMO: [{ field: "handle", label: "Venmo handle" }],
  ZELLE: [
    { field: "email", label: "Zelle email", optional: true },
    { field: "phone", label: "or phone", optional: true },
  ],
  STORE_CREDIT: [{ field: "instructions", label: "Instructions", optional: true }],
  OTHER: [{ field: "instructions", label: "Instructions" }],
};

/** Payout methods (add, remove, make default; numbers masked) and billing details. */
export function PaymentDetails() {
  const [result, reload] = useQuery({ query: PortalPaymentDetailsDoc });
  const partner = result.data?.viewer.partner;
  const refresh = () => reload({ requestPolicy: "network-only" });
  if (result.error) return <p className="error">{errorMessage(result.error)}</p>;
  if (!partner) return null;
  return (
    <div className="grid-2">
      <Methods partnerId={partner.id} methods={partner.payoutMethods} onChange={refresh} />
      <Billing partnerId={partner.id} profile={partner.billingProfile ?? null} onChange={refresh} />
    </div>
  );
}

type Methods = NonNullable<PortalPaymentDetailsQuery["viewer"]["partner"]>["payoutMethods"];

function Methods({ partnerId, methods, onChange }: { partnerId: string; methods: Methods; onChange: () => void }) {
  const [type, setType] = useState<PayoutMethodType>("PAYPAL");
  const [values, setValues] = useState<Partial<Record<MethodField, string>>>({});
  const [accountType, setAccountType] = useState<"CHECKING" | "SAVINGS">("CHECKING");
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [, add] = useMutation(AddPayoutMethodDoc);
  const [, remove] = useMutation(RemovePayoutMethodDoc);
  const [, makeDefault] = useMutation(DefaultPayoutMethodDoc);
  const report = (errors: readonly { message: string }[] | undefined, failure: { message: string } | undefined, done: string) => {
    const problem = errors?.[0]?.message ?? failure?.message;
    setMessage(problem ? { ok: false, text: problem } : { ok: true, text: done });
    if (!problem) onChange();
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const method: PayoutMethodInput = { type, ...Object.fromEntries(Object.entries(values).filter(([, value]) => value)) };
    if (type === "ACH") method.accountType = accountType;
    const result = await add({ input: { partnerId, method } });
    report(result.data?.addPayoutMethod.userErrors, result.error, "Payout method added.");
    if (result.data?.addPayoutMethod.payoutMethod) setValues({});
  };
  return (
    <section aria-labelledby="methods-heading">
      <h2 id="methods-heading">Payout methods</h2>
      <ul className="plain" data-testid="payout-methods">
        {methods.map((method) => (
          <li key={method.id}>
            <strong>{method.label}</strong> {method.isDefault && <span className="badge">default</span>}
            <div className="toolbar" style={{ marginTop: "0.35rem" }}>
              {!method.isDefault && (
                <button
                  type="button"
                  className="secondary"
                  onClick={async () => {
                    const result = await makeDefault({ input: { id: method.id } });
                    report(result.data?.setDefaultPayoutMethod.userErrors, result.error, "Default changed.");
                  }}
                >
                  Make default<span className="visually-hidden"> ({method.label})</span>
                </button>
              )}
              <button
                type="button"
                className="danger"
                onClick={async () => {
                  const result = await remove({ input: { id: method.id } });
                  report(result.data?.removePayoutMethod.userErrors, result.error, "Payout method removed.");
                }}
              >
                Remove<span className="visually-hidden"> {method.label}</span>
              </button>
            </div>
          </li>
        ))}
        {methods.length === 0 && <li className="muted">No payout method yet.</li>}
      </ul>
      <form onSubmit={submit} className="inline" aria-label="Add a payout method" style={{ marginTop: "0.75rem" }}>
        <label>
          Method
          <select value={type} onChange={(event) => (setType(event.target.value as PayoutMethodType), setValues({}))}>
            {(Object.keys(METHOD_FIELDS) as PayoutMethodType[]).map((value) => (
              <option key={value} value={value}>
                {humanize(value)}
              </option>
            ))}
          </select>
        </label>
        {METHOD_FIELDS[type].map(({ field, label, optional }) => (
          <label key={field}>
            {label}
            <input required={!optional} value={values[field] ?? ""} onChange={(event) => setValues({ ...values, [field]: event.target.value })} />
          </label>
        ))}
        {type === "ACH" && (
          <label>
            Account type
            <select value={accountType} onChange={(event) => setAccountType(event.target.value as "CHECKING" | "SAVINGS")}>
              <option value="CHECKING">Checking</option>
              <option value="SAVINGS">Savings</option>
            </select>
          </label>
        )}
        <button type="submit">Add payout method</button>
      </form>
      {message && (
        <p className={message.ok ? "ok" : "error"} role="status">
          {message.text}
        </p>
      )}
    </section>
  );
}

interface Profile {
  entityType: BillingEntityType;
  legalName: string;
  country: string;
  taxForm?: TaxForm | null;
  maskedTaxId?: string | null;
  vatId?: string | null;
  addressLine1?: string | null;
  city?: string | null;
  region?: string | null;
  postalCode?: string | null;
}

function Billing({ partnerId, profile, onChange }: { partnerId: string; profile: Profile | null; onChange: () => void }) {
  const [form, setForm] = useState({
    entityType: profile?.entityType ?? "INDIVIDUAL",
    legalName: profile?.legalName ?? "",
    country: profile?.country ?? "",
    taxForm: profile?.taxForm ?? "",
    taxId: "",
    vatId: profile?.vatId ?? "",
    addressLine1: profile?.addressLine1 ?? "",
    city: profile?.city ?? "",
    region: profile?.region ?? "",
    postalCode: profile?.postalCode ?? "",
  });
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [, save] = useMutation(SetBillingProfileDoc);
  const field = (key: keyof typeof form, label: string, options: { required?: boolean; hint?: string } = {}) => (
    <label>
      {label}
      <input required={options.required} placeholder={options.hint} value={form[key]} onChange={(event) => setForm({ ...form, [key]: event.target.value })} />
    </label>
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const { taxForm, taxId, ...rest } = form;
    const result = await save({
      input: {
        partnerId,
        profile: {
          ...rest,
          entityType: rest.entityType as BillingEntityType,
          taxForm: taxForm ? (taxForm as TaxForm) : null,
          ...(taxId ? { taxId } : {}),
        },
      },
    });
    const problem = result.data?.setBillingProfile.userErrors[0]?.message ?? result.error?.message;
    setMessage(problem ? { ok: false, text: problem } : { ok: true, text: "Billing details saved." });
    if (!problem) onChange();
  };
  return (
    <section aria-labelledby="billing-heading">
      <h2 id="billing-heading">Billing details</h2>
      {profile?.maskedTaxId && <p className="muted">Tax id on file: {profile.maskedTaxId}</p>}
      <form onSubmit={submit} className="inline" aria-label="Billing details">
        <label>
          Entity
          <select value={form.entityType} onChange={(event) => setForm({ ...form, entityType: event.target.value as BillingEntityType })}>
            <option value="INDIVIDUAL">Individual</option>
            <option value="COMPANY">Company</option>
          </select>
        </label>
        {field("legalName", "Legal name", { required: true })}
        {field("country", "Country", { required: true, hint: "US" })}
        <label>
          Tax form
          <select value={form.taxForm} onChange={(event) => setForm({ ...form, taxForm: event.target.value })}>
            <option value="">None</option>
            <option value="W9">W-9</option>
            <option value="W8BEN">W-8BEN</option>
            <option value="W8BEN_E">W-8BEN-E</option>
          </select>
        </label>
        {field("taxId", profile?.maskedTaxId ? "New tax id (leave empty to keep)" : "Tax id")}
        {field("vatId", "VAT id")}
        {field("addressLine1", "Address")}
        {field("city", "City")}
        {field("region", "State or region")}
        {field("postalCode", "Postal code")}
        <button type="submit">Save billing details</button>
      </form>
      {message && (
        <p className={message.ok ? "ok" : "error"} role="status">
          {message.text}
        </p>
      )}
    </section>
  );
}
