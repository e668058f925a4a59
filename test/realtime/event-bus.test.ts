import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { createInProcessEventBus, createRedisEventBus, partnerTopic, programTopic, type EventBus } from "../../src/realtime/event-bus.ts";
import type { CommittedEvent } from "../../src/services/events.ts";
import { hasRedis } from "../helpers/databases.ts";

const logger = pino({ level: "silent" });

function eventOf(programId: string, partnerId: string, sequence: number): CommittedEvent {
  return {
    id: String(sequence),
    programId,
    partnerId,
    partnerSequence: String(sequence),
    type: "balance.changed",
    entityId: partnerId,
    payload: { partnerId, currency: "USD", pending: "0", payable: "0", inPayouts: "0", paid: "0", lifetimeEarned: "0" },
    createdAt: new Date().toISOString(),
    xid: "1",
  };
}

/** A port nothing listens on: Redis there refuses every connection. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("the in-process event bus", () => {
  it("delivers each event, as JSON, to the subscribers of its partner's and its program's topics while they are subscribed", () => {
    const bus = createInProcessEventBus();
    const [programId, partnerId, otherPartner] = [randomUUID(), randomUUID(), randomUUID()];
    const got: string[] = [];
    const first = bus.subscribe(partnerTopic(programId, partnerId), (event) => got.push(`first#${event.partnerSequence}`));
    const second = bus.subscribe(partnerTopic(programId, partnerId), (event) => got.push(`second#${event.partnerSequence}`));
    const program = bus.subscribe(programTopic(programId), (event) => got.push(`program#${event.partnerSequence}`));
    const sent = eventOf(programId, partnerId, 1);
    let received: CommittedEvent | undefined;
    const copy = bus.subscribe(programTopic(programId), (event) => (received ??= event));
    bus.publish([sent, eventOf(programId, otherPartner, 2)]);
    expect(got).toEqual(["first#1", "second#1", "program#1", "program#2"]);
    // A copy, as a subscriber on another instance would get it.
    expect(received).toEqual(sent);
    expect(received).not.toBe(sent);
    copy.unsubscribe();

    got.length = 0;
    program.unsubscribe();
    first.unsubscribe();
    first.unsubscribe(); // twice: the other subscriber of the topic still hears
    bus.publish([eventOf(programId, partnerId, 3), eventOf(programId, otherPartner, 4)]);
    expect(got).toEqual(["second#3"]);

    got.length = 0;
    second.unsubscribe();
    bus.publish([eventOf(programId, partnerId, 5)]);
    expect(got).toEqual([]);
    // Subscribing again after everyone left: heard again.
    const again = bus.subscribe(programTopic(programId), (event) => got.push(`again#${event.partnerSequence}`));
    bus.publish([eventOf(programId, partnerId, 6)]);
    expect(got).toEqual(["again#6"]);
    again.unsubscribe();
  });
});

describe("the Redis event bus", () => {
  const buses: EventBus[] = [];
  afterAll(async () => {
    for (const bus of buses) await bus.close();
  });

  it("delivers an instance's own events to its own subscribers while Redis refuses connections", async () => {
    const bus = await createRedisEventBus(`redis://127.0.0.1:${await refusedPort()}`, logger);
    buses.push(bus);
    const [programId, partnerId] = [randomUUID(), randomUUID()];
    const got: string[] = [];
    const partner = bus.subscribe(partnerTopic(programId, partnerId), (event) => got.push(`partner#${event.partnerSequence}`));
    const program = bus.subscribe(programTopic(programId), (event) => got.push(`program#${event.partnerSequence}`));
    await Promise.all([partner.ready, program.ready]); // no Redis to wait for
    bus.publish([eventOf(programId, partnerId, 1), eventOf(programId, partnerId, 2)]);
    expect(got).toEqual(["partner#1", "program#1", "partner#2", "program#2"]);
    partner.unsubscribe();
    program.unsubscribe();
  });

  it.runIf(hasRedis)("with Redis: every instance's subscribers get each event once, the publishing instance's included", async () => {
    const [a, b] = await Promise.all([createRedisEventBus(process.env.REDIS_URL!, logger), createRedisEventBus(process.env.REDIS_URL!, logger)]);
    buses.push(a, b);
    const programId = randomUUID();
    const [partnerId, markerId] = [randomUUID(), randomUUID()];
    const topic = programTopic(programId);
    const onA: string[] = [];
    const onB: string[] = [];
    let markerOnA!: () => void;
    const markerReachedA = new Promise<void>((resolve) => (markerOnA = resolve));
    const subA = a.subscribe(topic, (event) => {
      onA.push(`${event.partnerId}#${event.partnerSequence}`);
      if (event.partnerId === markerId) markerOnA();
    });
    const subB = b.subscribe(topic, (event) => {
      onB.push(`${event.partnerId}#${event.partnerSequence}`);
      // B answers A's last event with a marker of its own, through Redis.
      if (event.partnerSequence === "3") b.publish([eventOf(programId, markerId, 1)]);
    });
    await Promise.all([subA.ready, subB.ready]);
    a.publish([1, 2, 3].map((n) => eventOf(programId, partnerId, n)));
    // Redis sends A's own events back to A's connection before B's marker (B sent it after it had them):
    // once the marker is in, any second copy of A's events would be too.
    await markerReachedA;
    const mine = [1, 2, 3].map((n) => `${partnerId}#${n}`);
    expect(onA).toEqual([...mine, `${markerId}#1`]);
    expect(onB).toEqual([...mine, `${markerId}#1`]);
    subA.unsubscribe();
    subB.unsubscribe();
  });

  it.runIf(hasRedis)("with Redis: holds nothing of a subscription once it is gone, however many came and went", async () => {
    const bus = await createRedisEventBus(process.env.REDIS_URL!, logger);
    buses.push(bus);
    const cycle = async (count: number) => {
      const subscriptions = Array.from({ length: count }, () => bus.subscribe(partnerTopic(randomUUID(), randomUUID()), () => undefined));
      await Promise.all(subscriptions.map((subscription) => subscription.ready));
      for (const subscription of subscriptions) subscription.unsubscribe();
    };
    await cycle(500);
    const before = liveHeap();
    for (let i = 0; i < 20; i++) await cycle(500);
    // 10,000 subscriptions made and ended while Redis stayed up: 0.1-0.3 MB
    // more. When each left a reaction on a long-lived promise, 3.5 MB.
    expect(liveHeap() - before).toBeLessThan(1_000_000);
  });
});

/** The heap in use after a full collection. */
function liveHeap(): number {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
  return process.memoryUsage().heapUsed;
}
