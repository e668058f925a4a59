import { Agent, request } from "node:http";
import { readFileSync } from "node:fs";
import { percentile } from "../lib.ts";

export interface LoadResult {
  requests: number;
  errors: number;
  /** The first failed answer (status and the start of its body), when any failed. */
  firstError?: string;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU milliseconds per request, of the server process and of the database's backends. */
  serverCpuMs: number;
  databaseCpuMs: number;
}

/** utime + stime of a process, in milliseconds (0 when it is gone or unreadable). */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // fields 14 and 15, in ticks of 1/100 s (CLK_TCK)
  } catch {
    return 0;
  }
}

export interface Target {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** POSTs one request and returns its body (for the answer check). */
export function postOnce(target: Target): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(target.url, { method: "POST", headers: { "content-type": "application/json", ...target.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on("error", reject);
    req.end(target.body);
  });
}

/**
 * A small closed-loop load generator: `connections` keep-alive sockets, each
 * sending the next request when the last answer arrived, for `seconds`.
 * `cpuPids()` names the processes whose CPU is charged to the requests
 * (read before and after).
 */
export async function drive(target: Target, connections: number, seconds: number, cpu: { server: number; database: () => Promise<number[]> }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const body = Buffer.from(target.body);
  const headers = { "content-type": "application/json", "content-length": String(body.length), ...target.headers };
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const one = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const req = request(target.url, { method: "POST", agent, headers }, (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          if (res.statusCode !== 200 && text.length < 300) text += chunk.toString();
        });
        res.on("end", () => {
          if (res.statusCode !== 200) {
            errors += 1;
            firstError ??= `${res.statusCode} ${text.slice(0, 300)}`;
          }
          latencies.push(performance.now() - started);
          resolve();
        });
      });
      req.on("error", (error) => {
        errors += 1;
        firstError ??= String(error);
        resolve();
      });
      req.end(body);
    });
  const databasePids = await cpu.database();
  const serverBefore = cpuMsOf(cpu.server);
  const databaseBefore = new Map(databasePids.map((pid) => [pid, cpuMsOf(pid)]));
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const serverCpu = cpuMsOf(cpu.server) - serverBefore;
  // Backends opened during the run are charged their whole life (it is all in the run); closed ones are lost (pools keep theirs).
  const databaseCpu = (await cpu.database()).reduce((sum, pid) => sum + cpuMsOf(pid) - (databaseBefore.get(pid) ?? 0), 0);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const n = latencies.length;
  return {
    requests: n,
    errors,
    ...(firstError ? { firstError } : {}),
    // Answers that were errors do not count as served.
    perSecond: round((n - errors) / elapsed),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    serverCpuMs: round(serverCpu / n, 2),
    databaseCpuMs: round(databaseCpu / n, 2),
  };
}

export const round = (value: number, places = 1) => Number(value.toFixed(places));
