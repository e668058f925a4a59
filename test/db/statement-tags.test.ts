import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refuseStatementsOf, runTagged, tagStatements } from "../../src/db/statement-tags.ts";

const url = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

describe("statements of a stopped request", () => {
  let pool: pg.Pool;
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: url, max: 2 });
    tagStatements(pool);
  });
  afterAll(() => pool.end());

  it("are refused at the pool until the stopped request's work settles; other requests' are sent, tagged", async () => {
    let finish!: () => void;
    const work = new Promise<void>((resolve) => (finish = resolve));
    refuseStatementsOf("stopped-request", work);
    await expect(runTagged("stopped-request", () => pool.query("SELECT 1 AS one"))).rejects.toThrow(/stopped/);
    const refusedByCallback = await new Promise<unknown>((resolve) => runTagged("stopped-request", () => pool.query("SELECT 1", (error: Error) => resolve(error))));
    expect(refusedByCallback).toBeInstanceOf(Error);
    const other = await runTagged("another-request", () => pool.query<{ q: string }>("SELECT query AS q FROM pg_stat_activity WHERE pid = pg_backend_pid()"));
    expect(other.rows[0]!.q).toMatch(/^\/\* accrue-request:another-request \*\//);
    finish();
    await work;
    await new Promise((resolve) => setImmediate(resolve));
    const after = await runTagged("stopped-request", () => pool.query<{ one: number }>("SELECT 1 AS one"));
    expect(after.rows[0]!.one).toBe(1);
  });
});
