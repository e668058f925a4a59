// `npm run reconcile`: asks the running server to prove that every balance
// equals the sum of its commission lines (the reconcileBalances query), for
// one program or all. It goes through the API because the embedded database
// has one owner: the server.
//   --url <base URL>         default http://localhost:$PORT (4000)
//   --program <id>           one program (its id or global id); default: all
//   --token <admin token>    default: signed here with the development secret
// Exits 1 when any balance is off, 2 on usage or connection problems.
import { print } from "graphql";
import { parseArgs } from "node:util";
import { loadOrCreateDevSecrets } from "../src/auth/dev-secrets.ts";
import { signToken } from "../src/auth/sign-token.ts";
import { loadConfigOrExit } from "../src/config.ts";
import { graphql } from "../src/generated/gql/index.ts";

const ProgramsDoc = graphql(`
  query ReconcilePrograms($after: String) { programs(first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id name } } } }
`);
const ReconcileDoc = graphql(`
  query ReconcileProgram { program { name } reconcileBalances { ok checkedPartners mismatches { bucket source projected computed partner { id name } } } }
`);

const { values } = parseArgs({ options: { url: { type: "string" }, program: { type: "string" }, token: { type: "string" } } });
const config = loadConfigOrExit();
const url = `${values.url ?? `http://localhost:${config.port}`}/graphql`;

function rawId(id: string): string {
  if (/^[0-9a-f-]{36}$/i.test(id)) return id;
  const decoded = Buffer.from(id, "base64").toString("utf8");
  return decoded.slice(decoded.indexOf(":") + 1);
}

async function sign(claims: Parameters<typeof signToken>[0]): Promise<string> {
  const secret = config.auth.secret ?? loadOrCreateDevSecrets(config.dataDir).jwtSecret;
  return signToken(claims, { secret, issuer: config.auth.issuer, audience: config.auth.audience, expiresAt: new Date(Date.now() + 5 * 60_000) });
}

async function call<T>(document: Parameters<typeof print>[0], variables: object, token: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: print(document), variables }),
    });
  } catch {
    console.error(`reconcile: cannot reach ${url}; is the server running (npm start)?`);
    process.exit(2);
  }
  const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length || !body.data) {
    console.error(`reconcile: ${body.errors?.map((e) => e.message).join("; ") ?? response.status}`);
    process.exit(2);
  }
  return body.data;
}

const programIds: string[] = [];
if (values.program) programIds.push(rawId(values.program));
else if (!values.token) {
  const platform = await sign({ role: "platform", subject: "reconcile-cli" });
  let after: string | null = null;
  do {
    const page: { programs: { pageInfo: { hasNextPage: boolean; endCursor?: string | null }; edges: { node: { id: string } }[] } } = await call(ProgramsDoc, { after }, platform);
    programIds.push(...page.programs.edges.map((edge) => rawId(edge.node.id)));
    after = page.programs.pageInfo.hasNextPage ? (page.programs.pageInfo.endCursor ?? null) : null;
  } while (after);
}

let failed = false;
const targets = values.token ? [null] : programIds;
for (const programId of targets) {
  const token = values.token ?? (await sign({ role: "admin", subject: "reconcile-cli", programId: programId! }));
  const { program, reconcileBalances: report } = await call<{
    program: { name: string };
    reconcileBalances: {
      ok: boolean;
      checkedPartners: number;
      mismatches: { bucket: string; source: string; projected: string; computed: string; partner: { id: string; name: string } | null }[];
    };
  }>(ReconcileDoc, {}, token);
  // A balance row may disagree with its lines and with its movements: one balance off, two findings.
  const off = new Set(report.mismatches.map((m) => m.partner?.id ?? "?")).size;
  console.log(`${report.ok ? "ok  " : "FAIL"} ${program.name}: ${report.checkedPartners} balances checked, ${off} off`);
  for (const m of report.mismatches) console.log(`     ${m.partner?.name ?? "?"} ${m.bucket}: balance ${m.projected}, ${m.source} ${m.computed}`);
  failed ||= !report.ok;
}
if (targets.length === 0) console.log("no programs");
process.exit(failed ? 1 : 0);
