/**
 * Who is calling, from a verified token. DESIGN.md's Auth section:
 * - platform: creates and lists programs (the only cross-program role);
 * - admin, finance, analyst: operators of one program;
 * - partner: its own records only;
 * - integration: machine access with scopes.
 */
export const ROLES = ["platform", "admin", "finance", "analyst", "partner", "integration"] as const;
export type Role = (typeof ROLES)[number];

export const INTEGRATION_SCOPES = ["conversions:write", "conversions:read", "partners:write", "partners:read", "commissions:read", "payouts:read", "payouts:write"] as const;
export type IntegrationScope = (typeof INTEGRATION_SCOPES)[number];

export type Viewer =
  | { role: "platform"; subject: string; expiresAt?: Date }
  | { role: "admin" | "finance" | "analyst"; subject: string; programId: string; expiresAt?: Date }
  | { role: "partner"; subject: string; programId: string; partnerId: string; expiresAt?: Date }
  | {
      role: "integration";
      subject: string;
      programId: string;
      tokenId: string;
      scopes: ReadonlySet<IntegrationScope>;
      expiresAt?: Date;
    };

export type ProgramViewer = Exclude<Viewer, { role: "platform" }>;

export function programIdOf(viewer: Viewer | null): string | undefined {
  return viewer && viewer.role !== "platform" ? viewer.programId : undefined;
}

export const OPERATOR_ROLES = ["admin", "finance", "analyst"] as const;
