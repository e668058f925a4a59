// `npm run token -- --role admin --program <id>`: prints a signed development
// token the local server accepts (HS256, with the secret from
// ACCRUE_JWT_SECRET or the one the server keeps in its data folder).
//   --role platform|admin|finance|analyst|partner
//   --program <program id>     (every role but platform)
//   --partner <partner id>     (partner)
//   --subject <sub>            (default: "<role>@dev")
//   --expires <hours>          (default 12; at most ACCRUE_JWT_MAX_LIFETIME_SECONDS)
// Integration tokens are issued by an admin through the API
// (issueIntegrationToken), since they must be on the revocation list.
import { parseArgs } from "node:util";
import { loadOrCreateDevSecrets } from "../src/auth/dev-secrets.ts";
import { signToken } from "../src/auth/sign-token.ts";
import { ROLES, type Role } from "../src/auth/viewer.ts";
import { loadConfigOrExit } from "../src/config.ts";

function fromGlobalId(value: string | undefined): string | undefined {
  if (!value || /^[0-9a-f-]{36}$/i.test(value)) return value;
  const decoded = Buffer.from(value, "base64").toString("utf8");
  return decoded.includes(":") ? decoded.slice(decoded.indexOf(":") + 1) : value;
}

const { values } = parseArgs({
  options: {
    role: { type: "string" },
    program: { type: "string" },
    partner: { type: "string" },
    subject: { type: "string" },
    expires: { type: "string", default: "12" },
  },
});

const fail = (message: string): never => {
  console.error(`token: ${message}`);
  process.exit(2);
};

const role = values.role as Role | undefined;
if (!role || !(ROLES as readonly string[]).includes(role)) fail(`--role must be one of ${ROLES.join(", ")}`);
if (role === "integration") fail("integration tokens are issued through the API: mutation issueIntegrationToken (as an admin)");
const programId = fromGlobalId(values.program);
const partnerId = fromGlobalId(values.partner);
if (role !== "platform" && !programId) fail("--program <id> is required for this role (a program's id or global id)");
if (role === "partner" && !partnerId) fail("--partner <id> is required for a partner token");
const hours = Number(values.expires);
if (!Number.isFinite(hours) || hours <= 0) fail("--expires takes a number of hours");

const config = loadConfigOrExit();
// The server refuses a token that lives longer than this; say so here rather than there.
if (hours * 3_600 > config.auth.maxLifetimeSeconds) fail(`--expires may be at most ${config.auth.maxLifetimeSeconds / 3_600} hours (ACCRUE_JWT_MAX_LIFETIME_SECONDS)`);
const secret = config.auth.secret ?? loadOrCreateDevSecrets(config.dataDir).jwtSecret;
const token = await signToken(
  { role: role!, subject: values.subject ?? `${role}@dev`, programId, partnerId },
  { secret, issuer: config.auth.issuer, audience: config.auth.audience, expiresAt: new Date(Date.now() + hours * 3_600_000) },
);
console.log(token);
