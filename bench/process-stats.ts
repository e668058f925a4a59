// Figures of another process, from /proc and its inspector: RSS, CPU
// ticks, V8 heap after a full garbage collection. Shared by the benchmarks.
import { createWriteStream, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";

export function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

/**
 * CPU ticks (user + system) of every process whose command is `command`
 * (PostgreSQL's: "postgres"), by pid: compare two readings with ticksSince,
 * since backends come and go.
 */
export function commandTicks(command: string): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === command) ticks.set(Number(entry), cpuTicks(Number(entry)));
    } catch {
      // Gone since the directory was read.
    }
  }
  return ticks;
}

/** The ticks spent between two readings of commandTicks: a process started since counts from its start, one ended since not at all. */
export function ticksSince(before: Map<number, number>, after: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, now] of after) ticks += now - (before.get(pid) ?? 0);
  return ticks;
}

/** Waits until `pid` uses under ~4% of a core over half a second (at most 60 s), then `idleMs` more (RSS is read idle both times). */
export async function settle(pid: number, idleMs: number): Promise<void> {
  const until = performance.now() + 60_000;
  while (performance.now() < until) {
    const before = cpuTicks(pid);
    await sleep(500);
    if (cpuTicks(pid) - before <= 2) break;
  }
  await sleep(idleMs);
}

/** Jiffies the whole machine spent busy (not idle or waiting for I/O), and in all. */
export function machineTicks(): { busy: number; total: number } {
  const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
  const values = fields.slice(0, 8).map(Number);
  const total = values.reduce((sum, v) => sum + v, 0);
  return { busy: total - values[3]! - values[4]!, total };
}

/** A free loopback port (for a child's inspector). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** A session on another Node process's inspector: SIGUSR1 opens it (on the port given with --inspect-port). */
export async function inspectorSession(
  pid: number,
  inspectPort: number,
): Promise<{ socket: WebSocket; call(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>; close(): void }> {
  process.kill(pid, "SIGUSR1");
  let target: string | undefined;
  for (let attempt = 0; attempt < 100 && !target; attempt += 1) {
    try {
      const list = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl?: string }[];
      target = list.find((entry) => entry.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
    } catch {
      await sleep(100);
    }
  }
  if (!target) throw new Error(`no inspector for ${pid} on port ${inspectPort}`);
  const socket = new WebSocket(target, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024 });
  let nextCall = 1;
  const call = (method: string, params?: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = nextCall++;
      const timer = setTimeout(() => reject(new Error(`${method} in ${pid} took over 60 s`)), 60_000);
      socket.on("message", function onMessage(data) {
        const message = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown>; error?: unknown };
        if (message.id !== id) return;
        socket.off("message", onMessage);
        clearTimeout(timer);
        if (message.error) reject(new Error(`${method} in ${pid}: ${JSON.stringify(message.error)}`));
        else resolve(message.result ?? {});
      });
      socket.send(JSON.stringify({ id, method, ...(params ? { params } : {}) }));
    });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return { socket, call, close: () => socket.close() };
}

/**
 * Starts V8's CPU profiler in another Node process (through its inspector);
 * the function returned stops it and writes the profile (`.cpuprofile`, for
 * Chrome's DevTools) to `file`. So a benchmark can profile one phase alone.
 */
export async function startCpuProfile(pid: number, inspectPort: number, file: string): Promise<() => Promise<void>> {
  const session = await inspectorSession(pid, inspectPort);
  await session.call("Profiler.enable");
  await session.call("Profiler.setSamplingInterval", { interval: 100 });
  await session.call("Profiler.start");
  return async () => {
    try {
      const { profile } = await session.call("Profiler.stop");
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
      await session.call("Profiler.disable");
    } finally {
      session.close();
    }
  };
}

/**
 * A full garbage collection in another Node process, so that its memory
 * counts what is live rather than garbage not collected yet: SIGUSR1 opens
 * the process's inspector (on the port given with --inspect-port), and
 * HeapProfiler.collectGarbage runs V8's low-memory GC (which returns free
 * pages). Then the process's RSS (/proc) and V8 heap in use (inspector), and
 * the young generation's committed size before the collection, in KiB.
 * With `snapshotTo`, also writes a heap snapshot there (for Chrome's DevTools).
 */
export async function liveMemoryKiB(pid: number, inspectPort: number, snapshotTo?: string): Promise<{ rss: number; heap: number; youngBefore: number }> {
  const { socket, call, close } = await inspectorSession(pid, inspectPort);
  try {
    // V8's young generation as it stands (its committed pages), before the collection shrinks it:
    // an idle process that keeps it grown holds memory the collection gives back.
    const young = await call("Runtime.evaluate", {
      expression: "require('node:v8').getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').physical_space_size",
      includeCommandLineAPI: true,
      returnByValue: true,
    });
    await call("HeapProfiler.collectGarbage");
    await call("HeapProfiler.collectGarbage");
    const usage = await call("Runtime.getHeapUsage");
    await sleep(1_000);
    const rss = rssKiB(pid);
    if (snapshotTo) {
      const file = createWriteStream(snapshotTo);
      const onChunk = (data: WebSocket.RawData) => {
        const message = JSON.parse(data.toString()) as { method?: string; params?: { chunk: string } };
        if (message.method === "HeapProfiler.addHeapSnapshotChunk") file.write(message.params!.chunk);
      };
      socket.on("message", onChunk);
      await call("HeapProfiler.takeHeapSnapshot");
      socket.off("message", onChunk);
      await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
    }
    return { rss, heap: Number(usage.usedSize) / 1024, youngBefore: Number((young.result as { value: number }).value) / 1024 };
  } finally {
    close();
  }
}
