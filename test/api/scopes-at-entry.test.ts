import SchemaBuilder from "@pothos/core";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin from "@pothos/plugin-scope-auth";
import { describe, expect, it } from "vitest";
import { READERS } from "../../src/graphql/guards.ts";
import { fieldsReaching, scopesAtEntry, scopesAtEntryPlugin } from "../../src/graphql/scopes-at-entry.ts";
import { buildSchema } from "../../src/graphql/schema.ts";

/**
 * Commission's and Partner's readers are checked where a record is reached,
 * not on each of its fields (src/graphql/scopes-at-entry.ts). What a viewer may then read is
 * the access matrix's to prove (test/access/matrix.test.ts walks every path
 * to a line as every role); these tests prove the schema cannot be built with
 * a path to such a type that carries no check.
 */

const LINE_READERS = { role: ["admin"] } as const;

/** A schema with one entry-checked type, `Line`, and whatever fields `extra` adds to Query. */
function schemaWith(extra: (t: any, line: any, thing: any) => Record<string, unknown>, checkedElsewhere: Record<string, string> = {}) {
  const builder = new SchemaBuilder<{ Context: { role: string }; AuthScopes: { role: readonly string[] } }>({
    plugins: [ScopeAuthPlugin, RelayPlugin, scopesAtEntryPlugin],
    scopeAuth: { authScopes: (ctx: { role: string }) => ({ role: (roles: readonly string[]) => roles.includes(ctx.role) }) },
    relay: {},
    // The global option types ask for every plugin the project registers; this schema uses three.
  } as never);
  const thing = builder.interfaceRef<{ id: string }>("Thing").implement({ fields: (t) => ({ id: t.exposeID("id") }) });
  const line = builder.objectRef<{ id: string }>("Line").implement({
    interfaces: [thing],
    isTypeOf: () => true,
    extensions: scopesAtEntry({ scopes: LINE_READERS, checkedElsewhere }),
    fields: (t) => ({ id: t.exposeID("id") }),
  });
  builder.queryType({
    fields: (t) => ({
      line: t.field({ type: line, authScopes: LINE_READERS, resolve: () => ({ id: "1" }) }),
      ...extra(t, line, thing),
    }),
  });
  return builder.toSchema();
}

describe("scopes checked where a type is reached", () => {
  it("builds when every field reaching the type carries its scopes", () => {
    const schema = schemaWith((t, line) => ({
      lines: t.connection({ type: line, authScopes: LINE_READERS, resolve: () => ({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false } }) }),
    }));
    expect([...fieldsReaching(schema, "Line").keys()].sort()).toEqual(["Query.line", "Query.lines"]);
  });

  it("refuses to build with a field, a list, a connection or an interface reaching it unchecked", () => {
    expect(() => schemaWith((t, line) => ({ other: t.field({ type: line, resolve: () => ({ id: "1" }) }) }))).toThrow(/Query\.other reaches Line without its readers' scopes/);
    expect(() => schemaWith((t, line) => ({ many: t.field({ type: [line], resolve: () => [] }) }))).toThrow(/Query\.many reaches Line/);
    expect(() =>
      schemaWith((t, line) => ({ page: t.connection({ type: line, resolve: () => ({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false } }) }) })),
    ).toThrow(/Query\.page reaches Line/);
    // Another map with the same content is not the type's scopes: the very object, so a copy cannot drift.
    expect(() => schemaWith((t, line) => ({ copy: t.field({ type: line, authScopes: { role: ["admin"] }, resolve: () => ({ id: "1" }) }) }))).toThrow(/Query\.copy reaches Line/);
    expect(() => schemaWith((t, _line, thing) => ({ thing: t.field({ type: thing, resolve: () => ({ id: "1" }) }) }))).toThrow(/Query\.thing reaches Line/);
  });

  it("takes a field listed as checked elsewhere, and refuses a listed name that does not reach the type", () => {
    expect(() => schemaWith((t, line) => ({ other: t.field({ type: line, resolve: () => ({ id: "1" }) }) }), { "Query.other": "checked by its resolver" })).not.toThrow();
    expect(() => schemaWith(() => ({}), { "Query.gone": "was removed" })).toThrow(/checkedElsewhere names Query\.gone, which does not reach it/);
  });

  it("refuses a type that has authScopes of its own as well", () => {
    const builder = new SchemaBuilder<{ AuthScopes: { role: readonly string[] } }>({
      plugins: [ScopeAuthPlugin, scopesAtEntryPlugin],
      scopeAuth: { authScopes: () => ({ role: () => true }) },
    } as never);
    const line = builder.objectRef<{ id: string }>("Line").implement({
      authScopes: LINE_READERS,
      extensions: scopesAtEntry({ scopes: LINE_READERS, checkedElsewhere: {} }),
      fields: (t) => ({ id: t.exposeID("id") }),
    });
    builder.queryType({ fields: (t) => ({ line: t.field({ type: line, authScopes: LINE_READERS, resolve: () => ({ id: "1" }) }) }) });
    expect(() => builder.toSchema()).toThrow(/Line: a type whose scopes are checked where it is reached has no authScopes of its own/);
  });

  /**
   * Every field of the served schema reaching `typename`, which a new path shows up in (so its
   * review sees it), and the ones its declaration says are checked otherwise; every other one
   * carries exactly `readers`.
   */
  function expectReachedWith(typename: string, readers: object, reaching: string[], checkedElsewhere: string[]) {
    const schema = buildSchema();
    const declared = (schema.getType(typename)!.extensions as { scopesAtEntry: { scopes: object; checkedElsewhere: Record<string, string> } }).scopesAtEntry;
    expect(declared.scopes).toBe(readers);
    const fields = fieldsReaching(schema, typename);
    expect([...fields.keys()].sort()).toEqual(reaching);
    expect(Object.keys(declared.checkedElsewhere).sort()).toEqual(checkedElsewhere);
    for (const [name, field] of fields) {
      if (name in declared.checkedElsewhere) continue;
      expect((field.extensions as { pothosOptions: { authScopes?: unknown } }).pothosOptions.authScopes, name).toBe(readers);
    }
  }

  it("Commission: every field reaching a line is one of these, each with the commission readers' scopes or a reason", () => {
    expectReachedWith(
      "Commission",
      READERS.commission,
      [
        "AdjustCommissionPayload.commission",
        "ApproveCommissionsPayload.commissions",
        "CancelCommissionsPayload.commissions",
        "Commission.corrections",
        "Commission.related",
        "Conversion.commissions",
        "CreditPartnerPayload.commission",
        "HoldCommissionsPayload.commissions",
        "Partner.commissions",
        "PayoutLine.commission",
        "Query.commission",
        "Query.commissions",
        "Query.node",
        "Query.nodes",
        "ReinstateCommissionsPayload.commissions",
        "ReleaseCommissionsPayload.commissions",
        "Reversal.commissions",
        "WriteOffBalancePayload.commission",
      ],
      // The payout's readers read its lines; the node ids' type.
      ["PayoutLine.commission", "Query.node", "Query.nodes"],
    );
  });

  it("Partner: every field reaching a partner is one of these, each with the partner readers' scopes or a reason", () => {
    expectReachedWith(
      "Partner",
      READERS.partner,
      [
        "Balance.partner",
        "BalanceMismatch.partner",
        "Commission.partner",
        "CreatePartnerPayload.partner",
        "MapPartnerToVendorPayload.partner",
        "PartnerEarnings.partner",
        "Payout.partner",
        "Query.node",
        "Query.nodes",
        "Query.partner",
        "Query.partnerByExternalId",
        "Query.partners",
        "SkippedPartner.partner",
        "UpdatePartnerPayload.partner",
        "Viewer.partner",
      ],
      // The node ids' type, the lists' narrower map, the viewer's own record.
      ["Query.node", "Query.nodes", "Query.partnerByExternalId", "Query.partners", "Viewer.partner"],
    );
  });
});
