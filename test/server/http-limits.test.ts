import pg from "pg";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasPostgres, hasRedis } from "../helpers/databases.ts";
import { createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { startTestApp, type TestApp } from "../helpers/test-app.ts";

const MB = 1_000_000;

/** A JSON GraphQL body of about `bytes`, padded with a variable the query ignores. */
function paddedBody(bytes: number): string {
  const skeleton = JSON.stringify({ query: "{ viewer { role } }", variables: { padding: "" } });
  return JSON.stringify({ query: "{ viewer { role } }", variables: { padding: "x".repeat(Math.max(0, bytes - skeleton.length)) } });
}

describe("request body cap (2 MB by default)", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  beforeAll(async () => {
    t = await startTestApp("pglite");
    acme = await createProgramFixture(t);
  });
  afterAll(() => t?.stop());

  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${acme.adminToken}`, ...headers },
      body,
      duplex: "half",
    } as RequestInit);

  it("refuses a 10 MB body with 413 before parsing it", async () => {
    const response = await post(paddedBody(10 * MB));
    expect(response.status).toBe(413);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe("REQUEST_ENTITY_TOO_LARGE");
  });

  it("refuses an oversized body sent without a length (chunked) too", async () => {
    const chunk = new TextEncoder().encode("x".repeat(256 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"query":"{ viewer { role } }","variables":{"padding":"'));
        if (sent >= 12) {
          controller.enqueue(new TextEncoder().encode('"}}'));
          controller.close();
          return;
        }
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const response = await post(stream);
    expect(response.status).toBe(413);
  });

  it("reads a body under the cap as usual", async () => {
    const response = await post(paddedBody(1.5 * MB));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { viewer: { role: "ADMIN" } } });
  });

  it("closes a WebSocket whose message is over the cap (1009) without reading it", async () => {
    const socket = new WebSocket(`${t.url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${acme.adminToken}`, padding: "x".repeat(3 * MB) } }));
    expect(await closed).toBe(1009);
  });
});

describe("CORS", () => {
  const preflight = (url: string, origin: string) =>
    fetch(`${url}/graphql`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } });
  const request = (url: string, origin: string) =>
    fetch(`${url}/graphql`, { method: "POST", headers: { origin, "content-type": "application/json" }, body: JSON.stringify({ query: "{ viewer { role } }" }) });

  describe("with no origins configured (the default)", () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp("pglite");
    });
    afterAll(() => t?.stop());

    it("names no origin back and never allows credentials, whatever the origin", async () => {
      for (const response of [await preflight(t.url, "https://evil.example"), await request(t.url, "https://evil.example")]) {
        expect(response.headers.get("access-control-allow-origin")).toBeNull();
        expect(response.headers.get("access-control-allow-credentials")).toBeNull();
      }
    });
  });

  describe("with an allow-list", () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp("pglite", { env: { ACCRUE_CORS_ORIGINS: "https://app.example.com, https://admin.example.com" } });
    });
    afterAll(() => t?.stop());

    it("names an allowed origin back, for that origin only, without credentials", async () => {
      const answer = await preflight(t.url, "https://admin.example.com");
      expect(answer.headers.get("access-control-allow-origin")).toBe("https://admin.example.com");
      expect(answer.headers.get("vary")).toMatch(/origin/i);
      expect(answer.headers.get("access-control-allow-methods")).toMatch(/POST/);
      expect(answer.headers.get("access-control-allow-headers")).toMatch(/authorization/);
      expect(answer.headers.get("access-control-allow-credentials")).toBeNull();
      const response = await request(t.url, "https://app.example.com");
      expect(response.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
      expect(response.headers.get("access-control-allow-credentials")).toBeNull();
    });

    it("gives any other origin no CORS headers", async () => {
      for (const origin of ["https://evil.example", "null", "https://app.example.com.evil.example"]) {
        expect((await preflight(t.url, origin)).headers.get("access-control-allow-origin")).toBeNull();
        expect((await request(t.url, origin)).headers.get("access-control-allow-origin")).toBeNull();
      }
    });
  });
});

describe("/readyz and /health", () => {
  const readyz = async (t: TestApp) => {
    const response = await fetch(`${t.url}/readyz`);
    return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, string> } };
  };

  describe("on the embedded database", () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp("pglite", { env: { ACCRUE_READY_TIMEOUT_MS: "200" } });
    });
    afterAll(() => t?.stop());

    it("is ready when the database answers", async () => {
      expect(await readyz(t)).toEqual({ status: 200, body: { status: "ready", checks: { database: "ok" } } });
    });

    it("is not ready while the database cannot answer in time, and alive all along", async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let holding = false;
      const held = t.app.db.prisma.$transaction(
        async (tx) => {
          await tx.program.count();
          holding = true;
          await gate;
        },
        { timeout: 60_000 },
      );
      while (!holding) await new Promise((resolve) => setTimeout(resolve, 10));
      try {
        expect(await readyz(t)).toEqual({ status: 503, body: { status: "unavailable", checks: { database: "timeout" } } });
        expect((await fetch(`${t.url}/health`)).status).toBe(200);
      } finally {
        release();
        await held;
      }
      expect((await readyz(t)).status).toBe(200);
    });
  });

  describe.runIf(hasRedis)("with Redis configured", () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp("pglite", { env: { REDIS_URL: process.env.REDIS_URL! } });
    });
    afterAll(() => t?.stop());

    it("checks Redis too", async () => {
      expect(await readyz(t)).toEqual({ status: 200, body: { status: "ready", checks: { database: "ok", redis: "ok" } } });
    });
  });

  describe("with a Redis that is not there", () => {
    let t: TestApp;
    beforeAll(async () => {
      // Port 9 (discard) on loopback: nothing listens there.
      t = await startTestApp("pglite", { env: { REDIS_URL: "redis://127.0.0.1:9", ACCRUE_READY_TIMEOUT_MS: "500" } });
    });
    afterAll(() => t?.stop());

    it("says which dependency failed (503), and still serves what needs no Redis", async () => {
      const { status, body } = await readyz(t);
      expect(status).toBe(503);
      expect(body.checks.database).toBe("ok");
      expect(["error", "timeout"]).toContain(body.checks.redis);
      expect((await fetch(`${t.url}/health`)).status).toBe(200);
    });
  });

  describe.runIf(hasPostgres)("on PostgreSQL", () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp("postgres", { env: { ACCRUE_READY_TIMEOUT_MS: "1000" } });
    });
    afterAll(() => t?.stop());

    it("is ready, then not once its database is gone", async () => {
      expect(await readyz(t)).toEqual({ status: 200, body: { status: "ready", checks: { database: "ok" } } });
      const url = new URL(t.app.config.database.kind === "postgres" ? t.app.config.database.url : "");
      const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE ${url.pathname.slice(1)} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
      const { status, body } = await readyz(t);
      expect(status).toBe(503);
      expect(body.status).toBe("unavailable");
      expect(["error", "timeout"]).toContain(body.checks.database);
      expect(JSON.stringify(body)).not.toMatch(/does not exist|SELECT|127\.0\.0\.1/);
    });
  });
});
