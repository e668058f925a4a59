import type { IntegrationScope } from "../../auth/viewer.ts";
import { issueIntegrationToken, type IssuedIntegrationToken } from "../../services/integration-tokens/issue-integration-token.ts";
import { revokeIntegrationToken } from "../../services/integration-tokens/revoke-integration-token.ts";
import { builder } from "../builder.ts";
import { actorOf, READERS } from "../guards.ts";
import { defineMutation } from "../mutation.ts";
import { IntegrationScopeEnum } from "./viewer.ts";

export const IntegrationTokenRef = builder.prismaNode("IntegrationToken", {
  id: { field: "id" },
  findUnique: (id) => ({ id }),
  nullable: true,
  authScopes: READERS.integrationToken,
  description: "A token an admin issued to an integration; its secret is shown once, at issue.",
  fields: (t) => ({
    name: t.exposeString("name"),
    scopes: t.field({ type: [IntegrationScopeEnum], resolve: (token) => token.scopes as IntegrationScope[] }),
    createdBy: t.exposeString("createdBy"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    expiresAt: t.expose("expiresAt", { type: "DateTime", nullable: true }),
    revokedAt: t.expose("revokedAt", { type: "DateTime", nullable: true }),
  }),
});

const IssuedIntegrationTokenRef = builder.objectRef<IssuedIntegrationToken>("IssuedIntegrationToken").implement({
  fields: (t) => ({
    integrationToken: t.field({ type: IntegrationTokenRef, resolve: (issued) => issued.record }),
    token: t.exposeString("token", { description: "The bearer token. Store it now: accrue keeps no copy." }),
  }),
});

builder.queryField("integrationTokens", (t) =>
  t.prismaConnection({
    type: "IntegrationToken",
    cursor: "id",
    description: "The program's integration tokens, newest first (admin).",
    authScopes: READERS.integrationToken,
    totalCount: (_parent, _args, ctx) => ctx.db.integrationToken.count(),
    resolve: (query, _root, _args, ctx) => ctx.db.integrationToken.findMany({ ...query, orderBy: { createdAt: "desc" } }),
  }),
);

defineMutation("issueIntegrationToken", {
  description: "Issues a token for an integration with the given scopes (admin).",
  authScopes: { role: ["admin"] },
  input: (t) => ({
    name: t.string({ required: true }),
    scopes: t.field({ type: [IntegrationScopeEnum], required: true }),
    expiresInDays: t.int({ description: "1 to 3650; default 365." }),
  }),
  result: { field: "issued", type: IssuedIntegrationTokenRef },
  resolve: (input, ctx) => issueIntegrationToken(ctx.deps, actorOf(ctx), input),
});

defineMutation("revokeIntegrationToken", {
  description: "Revokes an integration token at once (admin).",
  authScopes: { role: ["admin"] },
  input: (t) => ({ id: t.globalID({ for: IntegrationTokenRef, required: true }) }),
  result: { field: "integrationToken", type: IntegrationTokenRef },
  resolve: (input, ctx) => revokeIntegrationToken(ctx.deps, actorOf(ctx), input.id.id),
});
