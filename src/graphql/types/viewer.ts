import { INTEGRATION_SCOPES, ROLES, type Viewer } from "../../auth/viewer.ts";
import { builder } from "../builder.ts";

export const RoleEnum = builder.enumType("Role", { values: ROLES.map((role) => role.toUpperCase()) as Uppercase<(typeof ROLES)[number]>[] });
export const IntegrationScopeEnum = builder.enumType("IntegrationScope", {
  values: Object.fromEntries(INTEGRATION_SCOPES.map((scope) => [scope.replace(":", "_").toUpperCase(), { value: scope }])) as Record<
    string,
    { value: (typeof INTEGRATION_SCOPES)[number] }
  >,
});

const ViewerRef = builder.objectRef<Viewer>("Viewer").implement({
  description: "Who the token belongs to.",
  fields: (t) => ({
    role: t.field({ type: RoleEnum, resolve: (viewer) => viewer.role.toUpperCase() as never }),
    subject: t.exposeString("subject", { description: "The token's sub claim." }),
    program: t.prismaField({
      type: "Program",
      nullable: true,
      resolve: (query, viewer, _args, ctx) => (viewer.role === "platform" ? null : ctx.db.program.findUnique({ ...query, where: { id: viewer.programId } })),
    }),
    partner: t.prismaField({
      type: "Partner",
      nullable: true,
      resolve: (query, viewer, _args, ctx) => (viewer.role === "partner" ? ctx.db.partner.findUnique({ ...query, where: { id: viewer.partnerId } }) : null),
    }),
    scopes: t.field({
      type: [IntegrationScopeEnum],
      resolve: (viewer) => (viewer.role === "integration" ? [...viewer.scopes] : []),
    }),
    expiresAt: t.field({ type: "DateTime", nullable: true, resolve: (viewer) => viewer.expiresAt ?? null }),
  }),
});

builder.queryField("viewer", (t) => t.field({ type: ViewerRef, authScopes: { authenticated: true }, resolve: (_root, _args, ctx) => ctx.viewer! }));
