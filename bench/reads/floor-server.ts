// The floor for the read scenarios of `npm run bench`: bare node:http and pg,
// hand-written SQL, answering each scenario's GraphQL document with the same
// JSON accrue gives (bench/reads.ts checks they match). It reads the program
// and partner from the bearer token's payload without verifying it (the
// floor measures the reads, not the token check). Prints {"url": ...} once
// listening. Env: DATABASE_URL, DATABASE_POOL_SIZE (20), BENCH_FLOOR_DASHBOARD
// ("one": the dashboard in one statement, as accrue reads it now).
import { createServer } from "node:http";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_SIZE ?? 20) });
pool.on("error", () => {});

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString("base64");
// Stored amounts of USD lines have two places; the cast only drops the two zero places NUMERIC(19,4) adds.
const MONEY = (column: string) => `${column}::numeric(19,2)::text`;

interface Claims {
  program_id: string;
  partner_id?: string;
}

type Handler = (claims: Claims, variables: Record<string, unknown>) => Promise<unknown>;

/**
 * The dashboard in one statement, as accrue reads it since its lines are read
 * ahead (src/graphql/loaders/lines-ahead.ts): each partner's page of lines as
 * a column of text, four words a line. Only with BENCH_FLOOR_DASHBOARD=one;
 * the floor (the default) sends two statements and nests the rows.
 */
async function dashboardInOneStatement(claims: Claims) {
  const partners = await pool.query<{ id: string; name: string; lines: string | null }>(
    `SELECT p.id::text, p.name,
            (SELECT string_agg(l.id::text || ' ' || l.status::text || ' ' || ${MONEY("l.amount")} || ' ' || l.currency, ' ' ORDER BY l.id DESC)
               FROM (SELECT id, status, amount, currency FROM commissions c
                      WHERE c.program_id = $1 AND c.partner_id = p.id ORDER BY c.id DESC LIMIT 10) l) AS lines
       FROM partners p WHERE p.program_id = $1 ORDER BY p.id DESC LIMIT 20`,
    [claims.program_id],
  );
  return {
    partners: {
      edges: partners.rows.map((row) => {
        const words = row.lines ? row.lines.split(" ") : [];
        const edges = [];
        for (let i = 0; i < words.length; i += 4) {
          edges.push({ node: { id: globalId("Commission", words[i]!), amount: { amount: words[i + 2]!, currency: words[i + 3]! }, status: words[i + 1]! } });
        }
        return { node: { id: globalId("Partner", row.id), name: row.name, commissions: { edges } } };
      }),
    },
  };
}

const handlers: Record<string, Handler> = {
  async BenchDashboard(claims) {
    if (process.env.BENCH_FLOOR_DASHBOARD === "one") return dashboardInOneStatement(claims);
    const partners = await pool.query<{ id: string; name: string }>(`SELECT id::text, name FROM partners WHERE program_id = $1 ORDER BY id DESC LIMIT 20`, [claims.program_id]);
    const lines = await pool.query<{ partner_id: string; id: string; amount: string; currency: string; status: string }>(
      `SELECT p.id::text AS partner_id, c.id::text, ${MONEY("c.amount")} AS amount, c.currency, c.status
         FROM unnest($2::uuid[]) WITH ORDINALITY AS p(id, n)
         CROSS JOIN LATERAL (SELECT id, amount, currency, status FROM commissions
                              WHERE program_id = $1 AND partner_id = p.id ORDER BY id DESC LIMIT 10) c
        ORDER BY p.n, c.id DESC`,
      [claims.program_id, partners.rows.map((row) => row.id)],
    );
    const byPartner = new Map<string, unknown[]>();
    for (const row of lines.rows) {
      let list = byPartner.get(row.partner_id);
      if (!list) byPartner.set(row.partner_id, (list = []));
      list.push({ node: { id: globalId("Commission", row.id), amount: { amount: row.amount, currency: row.currency }, status: row.status } });
    }
    return {
      partners: {
        edges: partners.rows.map((row) => ({
          node: { id: globalId("Partner", row.id), name: row.name, commissions: { edges: byPartner.get(row.id) ?? [] } },
        })),
      },
    };
  },
  async BenchPortal(claims) {
    const [balance, lines] = await Promise.all([
      pool.query<{ payable: string; pending: string; paid: string; currency: string }>(
        `SELECT ${MONEY("payable")} AS payable, ${MONEY("pending")} AS pending, ${MONEY("paid")} AS paid, currency
           FROM balances WHERE program_id = $1 AND partner_id = $2`,
        [claims.program_id, claims.partner_id],
      ),
      pool.query<{ id: string; amount: string; currency: string; status: string; occurred_at: Date }>(
        `SELECT id::text, ${MONEY("amount")} AS amount, currency, status, occurred_at FROM commissions
          WHERE program_id = $1 AND partner_id = $2 ORDER BY id DESC LIMIT 50`,
        [claims.program_id, claims.partner_id],
      ),
    ]);
    const b = balance.rows[0];
    const money = (amount: string) => ({ amount, currency: b!.currency });
    return {
      viewer: {
        partner: {
          id: globalId("Partner", claims.partner_id!),
          balance: b ? { payable: money(b.payable), pending: money(b.pending), paid: money(b.paid) } : null,
        },
      },
      commissions: { edges: lines.rows.map((row) => ({ node: lineNode(row) })) },
    };
  },
  async BenchOperator(claims, variables) {
    const lines = await pool.query<{ id: string; amount: string; currency: string; status: string; occurred_at: Date }>(
      `SELECT id::text, ${MONEY("amount")} AS amount, currency, status, occurred_at FROM commissions
        WHERE program_id = $1 AND status = ANY($2::"CommissionStatus"[]) AND occurred_at >= $3 AND occurred_at < $4
        ORDER BY amount DESC, id DESC LIMIT 50`,
      [claims.program_id, variables.status, variables.after, variables.before],
    );
    return { commissions: { edges: lines.rows.map((row) => ({ node: lineNode(row) })) } };
  },
};

function lineNode(row: { id: string; amount: string; currency: string; status: string; occurred_at: Date }) {
  return { id: globalId("Commission", row.id), amount: { amount: row.amount, currency: row.currency }, status: row.status, occurredAt: row.occurred_at.toISOString() };
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const answer = async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { operationName?: string; query: string; variables?: Record<string, unknown> };
      const name = body.operationName ?? /query\s+(\w+)/.exec(body.query)?.[1] ?? "";
      const handler = handlers[name];
      const token = (request.headers.authorization ?? "").replace(/^Bearer /, "");
      const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as Claims;
      if (!handler) throw new Error(`no floor for ${name}`);
      return { data: await handler(claims, body.variables ?? {}) };
    };
    answer().then(
      (result) => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify(result));
      },
      (error: unknown) => {
        response.writeHead(500, { "content-type": "application/json" });
        response.end(JSON.stringify({ errors: [{ message: String(error) }] }));
      },
    );
  });
});

server.listen(0, "127.0.0.1", () => {
  const address = server.address() as { port: number };
  console.log(JSON.stringify({ url: `http://127.0.0.1:${address.port}` }));
});
process.on("SIGTERM", () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});
