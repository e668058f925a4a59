import { once } from "node:events";
import { createServer, get, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { parse } from "csv-parse/sync";
import { afterEach, describe, expect, it } from "vitest";
import { escapeCell, paged, streamCsv, type CsvCell } from "../../src/http/csv.ts";

/** A real HTTP server on 127.0.0.1, port 0; `outcome` settles with what streamCsv did. */
interface Served {
  url: string;
  outcome: Promise<{ ok: true } | { ok: false; error: unknown }>;
}

const servers: Array<{ close(): void; closeAllConnections(): void }> = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function serve(filename: string, header: string[], rows: () => AsyncIterable<CsvCell[]>): Promise<Served> {
  let settle!: (value: { ok: true } | { ok: false; error: unknown }) => void;
  const outcome = new Promise<{ ok: true } | { ok: false; error: unknown }>((resolve) => (settle = resolve));
  const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    streamCsv(res, filename, header, rows()).then(
      () => settle({ ok: true }),
      (error: unknown) => {
        settle({ ok: false, error });
        // What a route does when the export fails before its first byte.
        if (!res.headersSent && !res.destroyed) {
          res.statusCode = 500;
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ error: "export failed" }));
        }
      },
    );
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/export.csv`, outcome };
}

async function* from(rows: CsvCell[][]): AsyncGenerator<CsvCell[]> {
  for (const row of rows) yield row;
}

describe("escapeCell: formula injection (OWASP)", () => {
  it.each([
    // cell, written as
    ["=SUM(A1)", "'=SUM(A1)"],
    ["+1", "'+1"], // not a plain decimal: a leading + is a formula in Excel
    ["-2+3", "'-2+3"],
    ["@cmd", "'@cmd"],
    ["\tx", "'\tx"],
    ["\rx", "'\rx"],
    ["-", "'-"],
    ["-1e5", "'-1e5"], // exponent form is not a plain decimal
    ["-5.00", "-5.00"], // a clawback of $5.00: a number, left alone
    ["-0.0001", "-0.0001"],
    ["12", "12"],
    ["1250.50", "1250.50"],
    ["a,b", "a,b"], // quoting is the CSV writer's job, not escaping's
    ["", ""],
    ["Acme = best", "Acme = best"], // only the first non-blank character matters
    ["'=already", "'=already"],
    // Blanks before the trigger: spreadsheets trim them and run what follows.
    [" =1+1", "' =1+1"],
    ["\n=1+1", "'\n=1+1"],
    [" @x", "' @x"],
    ["  +1", "'  +1"],
    ["\u00a0-2+3", "'\u00a0-2+3"], // a no-break space is a blank too
    ["\r\n=1", "'\r\n=1"],
    [" \t=1", "' \t=1"],
    ["   ", "   "], // blanks only: nothing to run
    [" Acme", " Acme"],
    [" 5.00", " 5.00"], // a blank then a digit is no formula
    ["-12.34", "-12.34"], // an amount column's negative: still a number
  ])("%j → %j", (cell, expected) => {
    expect(escapeCell(cell)).toBe(expected);
  });
});

describe("streamCsv", () => {
  it("sets the download headers and writes RFC 4180 CSV with CRLF, without BOM", async () => {
    const header = ["partner", "amount", "note", "paidAt", "count", "approved", "reference"];
    const rows: CsvCell[][] = [
      ["Acme, Inc.", "1250.50", 'said "hi"', new Date("2026-03-01T12:00:00Z"), 3, true, null],
      ["Zoë", "-5.00", "line one\nline two", null, 0, false, undefined],
      ['=HYPERLINK("http://x")', "0.00", "cr\r\nlf", new Date("2025-12-31T23:59:59.999Z"), -2, true, "@ref"],
    ];
    const { url, outcome } = await serve("commissions-2026-03.csv", header, () => from(rows));

    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="commissions-2026-03.csv"');
    expect(response.headers.get("cache-control")).toBe("no-store");
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(await outcome).toEqual({ ok: true });

    expect([...bytes.slice(0, 3)]).not.toEqual([0xef, 0xbb, 0xbf]); // no BOM
    const body = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    expect(body.startsWith("partner,amount,note,paidAt,count,approved,reference\r\n")).toBe(true);
    expect(body.endsWith("\r\n")).toBe(true);
    // Every record ends in CRLF: no bare LF outside quoted cells.
    expect(body).toContain('"Acme, Inc.",1250.50,"said ""hi""",2026-03-01T12:00:00.000Z,3,true,\r\n');

    expect(parse(body, { record_delimiter: "\r\n" })).toEqual([
      header,
      ["Acme, Inc.", "1250.50", 'said "hi"', "2026-03-01T12:00:00.000Z", "3", "true", ""],
      ["Zoë", "-5.00", "line one\nline two", "", "0", "false", ""],
      ['\'=HYPERLINK("http://x")', "0.00", "cr\r\nlf", "2025-12-31T23:59:59.999Z", "-2", "true", "'@ref"],
    ]);
  });

  it("escapes formulas behind leading blanks and keeps negative amounts numbers, parsed back", async () => {
    const header = ["note", "amount"];
    const { url } = await serve("blanks.csv", header, () =>
      from([
        [" =1+1", "-5.00"],
        ["\n=1+1", "-0.01"],
        [" @x", "12.00"],
        ["\t=1", "0.00"],
      ]),
    );
    const body = await (await fetch(url)).text();
    expect(parse(body, { record_delimiter: "\r\n" })).toEqual([header, ["' =1+1", "-5.00"], ["'\n=1+1", "-0.01"], ["' @x", "12.00"], ["'\t=1", "0.00"]]);
  });

  it("gives a name outside ASCII an ASCII fallback and the RFC 6266 filename* form", async () => {
    const { url } = await serve('Zoë "best" partner.csv', ["a"], () => from([["1"]]));
    const response = await fetch(url);
    await response.text();
    expect(response.headers.get("content-disposition")).toBe("attachment; filename=\"Zo_ _best_ partner.csv\"; filename*=UTF-8''Zo%C3%AB%20%22best%22%20partner.csv");
  });

  it("writes only the header row for an empty export", async () => {
    const { url } = await serve("empty.csv", ["id", "amount"], () => from([]));
    expect(await (await fetch(url)).text()).toBe("id,amount\r\n");
  });

  it("streams: the first chunk arrives long before a 20,000-row source is exhausted", async () => {
    const total = 20_000;
    let produced = 0;
    async function* rows(): AsyncGenerator<CsvCell[]> {
      for (let i = 0; i < total; i += 1) {
        // A page of 100 rows per turn of the event loop, like a keyset query.
        if (i % 100 === 0) await nextTurn();
        produced += 1;
        yield [`partner-${i}`, `${i}.00`, i];
      }
    }
    const { url, outcome } = await serve("big.csv", ["partner", "amount", "n"], rows);

    const response = await fetch(url);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let producedAtFirstChunk: number | undefined;
    let body = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      producedAtFirstChunk ??= produced;
      body += decoder.decode(value, { stream: true });
    }
    body += decoder.decode();

    expect(producedAtFirstChunk).toBeLessThan(total / 4);
    expect(await outcome).toEqual({ ok: true });
    const records = parse(body, { record_delimiter: "\r\n" });
    expect(records).toHaveLength(total + 1); // header + rows
    expect(records.at(-1)).toEqual([`partner-${total - 1}`, `${total - 1}.00`, `${total - 1}`]);
  });

  it("respects backpressure: a client that stops reading stops the source", async () => {
    const total = 20_000;
    const wide = "x".repeat(2_000); // 20,000 rows × 2 KB = 40 MB, far more than socket buffers hold
    let produced = 0;
    async function* rows(): AsyncGenerator<CsvCell[]> {
      for (let i = 0; i < total; i += 1) {
        if (i % 50 === 0) await nextTurn();
        produced += 1;
        yield [i, wide];
      }
    }
    const { url, outcome } = await serve("wide.csv", ["n", "payload"], rows);

    const [response] = (await once(get(url), "response")) as [IncomingMessage];
    // Not reading: the response stays paused, the socket fills up, the server must wait.
    let last = -1;
    while (produced !== last) {
      last = produced;
      await sleep(200);
    }
    expect(produced).toBeLessThan(total / 2);

    let bytes = 0;
    let lines = 0;
    response.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      for (const byte of chunk) if (byte === 0x0a) lines += 1;
    });
    await once(response, "end");
    expect(await outcome).toEqual({ ok: true });
    expect(produced).toBe(total);
    expect(lines).toBe(total + 1);
    expect(bytes).toBeGreaterThan(total * wide.length);
  });

  it("destroys the response when the source fails after the first rows: the download does not look complete", async () => {
    let closed = false;
    async function* rows(): AsyncGenerator<CsvCell[]> {
      try {
        for (let i = 0; i < 500; i += 1) {
          if (i === 300) throw new Error("database went away");
          if (i % 50 === 0) await nextTurn();
          yield [`row-${i}`, "1.00"];
        }
        yield ["final-row", "9.99"];
      } finally {
        closed = true;
      }
    }
    const { url, outcome } = await serve("broken.csv", ["partner", "amount"], rows);

    const response = await fetch(url);
    expect(response.status).toBe(200); // already sent with the first bytes
    const read = response.text();
    await expect(read).rejects.toThrow(); // undici: "terminated", the chunked body never ended
    const result = await outcome;
    expect(result.ok).toBe(false);
    expect(!result.ok && (result.error as Error).message).toBe("database went away");
    expect(closed).toBe(true);
  });

  it("leaves the response untouched when the source fails before the first row, so the route can answer 500", async () => {
    async function* rows(): AsyncGenerator<CsvCell[]> {
      await nextTurn();
      throw new Error("first query failed");
    }
    const { url, outcome } = await serve("x.csv", ["a"], rows);
    const response = await fetch(url);
    expect(response.status).toBe(500);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("content-disposition")).toBeNull();
    expect(await response.json()).toEqual({ error: "export failed" });
    const result = await outcome;
    expect(!result.ok && (result.error as Error).message).toBe("first query failed");
  });

  it.each([
    // cell, why it is refused
    [12.5, "money as a number"],
    [0.1 + 0.2, "binary floating point"],
    [Number.NaN, "not a number"],
    [1e21, "beyond safe integers"],
  ])("refuses the number %s (%s): money must be a string", async (cell) => {
    const { url, outcome } = await serve("x.csv", ["amount"], () => from([[cell]]));
    expect((await fetch(url)).status).toBe(500);
    const result = await outcome;
    expect(!result.ok && (result.error as Error).message).toMatch(/not an integer/);
  });

  it("refuses a row whose width differs from the header, after the first rows, by destroying the response", async () => {
    let closed = false;
    async function* rows(): AsyncGenerator<CsvCell[]> {
      try {
        yield ["a", "1"];
        await nextTurn();
        yield ["b"]; // one cell short
        yield ["c", "3"];
      } finally {
        closed = true;
      }
    }
    const { url, outcome } = await serve("x.csv", ["name", "n"], rows);
    const response = await fetch(url);
    await expect(response.text()).rejects.toThrow();
    const result = await outcome;
    expect(!result.ok && (result.error as Error).message).toMatch(/row 2 has 1 cells, the header has 2/);
    expect(closed).toBe(true); // the source was closed, not left suspended
  });

  it("closes the source when the client goes away mid-download", async () => {
    let closed = false;
    let produced = 0;
    async function* rows(): AsyncGenerator<CsvCell[]> {
      try {
        for (let i = 0; i < 1_000_000; i += 1) {
          if (i % 100 === 0) await nextTurn();
          produced += 1;
          yield [i, "x".repeat(100)];
        }
      } finally {
        closed = true;
      }
    }
    const { url, outcome } = await serve("x.csv", ["n", "payload"], rows);
    const request = get(url);
    const [response] = (await once(request, "response")) as [IncomingMessage];
    await once(response, "data");
    request.destroy();
    const result = await outcome;
    expect(result.ok).toBe(false);
    expect(closed).toBe(true);
    expect(produced).toBeLessThan(1_000_000);
  });
});

describe("paged: keyset pagination", () => {
  it("yields page by page with the last row's cursor, until an empty page", async () => {
    const table = Array.from({ length: 7 }, (_, i) => ({ id: `id-${i}` }));
    const calls: Array<string | undefined> = [];
    const fetchPage = async (after: string | undefined) => {
      calls.push(after);
      const start = after === undefined ? 0 : table.findIndex((row) => row.id === after) + 1;
      return table.slice(start, start + 3); // pages of 3 rows
    };
    const rows: string[] = [];
    for await (const row of paged(fetchPage, (row) => row.id)) rows.push(row.id);
    expect(rows).toEqual(table.map((row) => row.id));
    expect(calls).toEqual([undefined, "id-2", "id-5", "id-6"]); // the last page (1 row) is followed by an empty one
  });

  it("fetches the next page only when the consumer reaches it", async () => {
    const calls: Array<string | undefined> = [];
    const source = paged(
      async (after) => {
        calls.push(after);
        const page = after === undefined ? 0 : Number(after) + 1;
        return [page * 2, page * 2 + 1].map(String);
      },
      (row) => String(Math.floor(Number(row) / 2)),
    );
    expect((await source.next()).value).toBe("0");
    expect((await source.next()).value).toBe("1");
    expect(calls).toEqual([undefined]);
    expect((await source.next()).value).toBe("2");
    expect(calls).toEqual([undefined, "0"]);
    await source.return(undefined);
  });

  it("refuses a cursor that does not advance instead of looping forever", async () => {
    const source = paged(
      async () => [{ id: "same" }],
      (row) => row.id,
    );
    await expect(
      (async () => {
        for await (const _ of source);
      })(),
    ).rejects.toThrow(/did not advance/);
  });
});
