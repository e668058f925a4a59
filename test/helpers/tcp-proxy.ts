import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";

/**
 * A TCP proxy between accrue and PostgreSQL that a test controls, to make
 * the faults a network and a database really have: connections cut
 * mid-query, new ones refused or left hanging, every packet late, or the
 * whole link stalled. Bytes are forwarded in order, unchanged.
 */
export interface TcpProxy {
  port: number;
  /** `databaseUrl` with its host and port pointed at the proxy. */
  url(databaseUrl: string): string;
  /** Connections open now, and accepted since the start. */
  readonly open: number;
  readonly accepted: number;
  /** Resets every open connection (both ends see it at once, as when a link or server dies); returns how many. */
  killConnections(): number;
  /**
   * What happens to new connections: "forward" (normal), "refuse" (reset at
   * once, as a server that is down), "hang" (accepted, never answered, as a
   * host that is unreachable).
   */
  setMode(mode: "forward" | "refuse" | "hang"): void;
  /** Every chunk, both ways, is forwarded `ms` after it arrived (0: at once). */
  setDelay(ms: number): void;
  /** Holds every byte, both ways, on every connection until resume(). */
  stall(): void;
  resume(): void;
  /** Bytes waiting in the proxy (stalled or delayed), for positive markers in tests. */
  readonly held: number;
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream?: Socket;
}

export async function startTcpProxy(target: { host: string; port: number } | string): Promise<TcpProxy> {
  const to = typeof target === "string" ? { host: new URL(target).hostname, port: Number(new URL(target).port || 5432) } : target;
  const links = new Set<Link>();
  let accepted = 0;
  let mode: "forward" | "refuse" | "hang" = "forward";
  let delayMs = 0;
  let stalled = false;
  let held = 0;
  const waiting = new Set<() => void>();

  /** Forwards `from` to `to` through a queue that honours stall and delay and keeps the order. */
  function pipe(from: Socket, dest: Socket) {
    const queue: { chunk: Buffer; at: number }[] = [];
    let pumping = false;
    let ended = false;
    const pump = async () => {
      if (pumping) return;
      pumping = true;
      while (queue.length > 0) {
        if (stalled) await new Promise<void>((resolve) => waiting.add(resolve));
        const wait = queue[0]!.at + delayMs - Date.now();
        if (delayMs > 0 && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (stalled) continue;
        const { chunk } = queue.shift()!;
        held -= chunk.length;
        if (!dest.destroyed) dest.write(chunk);
      }
      pumping = false;
      if (ended && !dest.destroyed) dest.end();
    };
    from.on("data", (chunk: Buffer) => {
      held += chunk.length;
      queue.push({ chunk, at: Date.now() });
      void pump();
    });
    from.on("end", () => {
      ended = true;
      if (!pumping && queue.length === 0) dest.end();
    });
  }

  const server: Server = createServer((client) => {
    accepted += 1;
    client.on("error", () => {});
    if (mode === "refuse") {
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client };
    links.add(link);
    client.on("close", () => {
      links.delete(link);
      link.upstream?.destroy();
    });
    if (mode === "hang") return;
    // As PostgreSQL and its clients do: without it a reply written in two
    // pieces waits for the other side's delayed acknowledgement (about 40 ms).
    client.setNoDelay(true);
    const upstream = connect({ port: to.port, host: to.host, noDelay: true });
    link.upstream = upstream;
    upstream.on("error", () => client.destroy());
    upstream.on("close", () => client.destroy());
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  const releaseStall = () => {
    for (const resolve of waiting) resolve();
    waiting.clear();
  };

  return {
    port,
    url(databaseUrl) {
      const url = new URL(databaseUrl);
      url.hostname = "127.0.0.1";
      url.port = String(port);
      return url.toString();
    },
    get open() {
      return links.size;
    },
    get accepted() {
      return accepted;
    },
    get held() {
      return held;
    },
    killConnections() {
      const count = links.size;
      for (const link of links) {
        if (!link.client.destroyed) link.client.resetAndDestroy();
        if (link.upstream && !link.upstream.destroyed) link.upstream.resetAndDestroy();
      }
      links.clear();
      return count;
    },
    setMode(next) {
      mode = next;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      releaseStall();
    },
    async close() {
      stalled = false;
      releaseStall();
      for (const link of links) {
        link.client.destroy();
        link.upstream?.destroy();
      }
      links.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
