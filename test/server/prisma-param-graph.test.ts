import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a build script in plain JavaScript, without types
import { STRING_SHIFT, shiftGraphStrings } from "../../scripts/prisma-param-graph.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The generated client's parameterization schema, as scripts/build-server.mjs finds it. */
function generatedSchema(): { strings: string[]; graph: string } {
  const source = readFileSync(`${ROOT}src/generated/prisma/internal/class.ts`, "utf8");
  const match = /config\.parameterizationSchema = \{\s*strings: JSON\.parse\(("(?:[^"\\]|\\.)*")\),\s*graph: "([^"]*)"\s*\}/.exec(source);
  if (!match) throw new Error("no parameterization schema in the generated client");
  return { strings: JSON.parse(JSON.parse(match[1]!)) as string[], graph: match[2]! };
}

type Edge = Record<string, number | string | undefined>;

/** Decodes a graph the way Prisma's runtime does, naming every string index by its string. */
function decode({ strings, graph }: { strings: string[]; graph: string }) {
  const bytes = Buffer.from(graph, "base64url");
  let at = 0;
  const varint = () => {
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = bytes[at++]!;
      value |= (byte & 127) << shift;
      shift += 7;
    } while (byte >= 128);
    return value;
  };
  const optional = () => {
    const value = varint();
    return value === 0 ? undefined : value - 1;
  };
  const keys: number[] = [];
  const name = (index: number) => {
    keys.push(index);
    return strings[index];
  };
  const [inputCount, outputCount, rootCount] = [varint(), varint(), varint()];
  const inputs = Array.from({ length: inputCount }, () =>
    Array.from({ length: varint() }, (): Edge => {
      const key = name(varint());
      const scalarMask = bytes.readUInt16LE(at);
      at += 2;
      const childNodeId = optional();
      const enumIndex = optional();
      return { key, scalarMask, childNodeId, enumName: enumIndex === undefined ? undefined : strings[enumIndex], flags: bytes[at++] };
    }),
  );
  const outputs = Array.from({ length: outputCount }, () =>
    Array.from({ length: varint() }, (): Edge => ({ key: name(varint()), argsNodeId: optional(), outputNodeId: optional() })),
  );
  const roots = Array.from({ length: rootCount }, (): Edge => ({ key: name(varint()), argsNodeId: optional(), outputNodeId: optional() }));
  return { graph: { inputs, outputs, roots }, keys, rest: bytes.length - at };
}

// scripts/prisma-param-graph.mjs: the build moves the graph's string indexes past V8's gap, so the
// decoded graph's objects keep their integer keys in small hash tables, not mostly empty arrays.
describe("the Prisma client's parameterization graph, as the build writes it", () => {
  const schema = generatedSchema();

  it("reads as the generated one, every edge, enum name and root naming the same string", () => {
    const shifted = { strings: [...new Array<string>(STRING_SHIFT).fill(""), ...schema.strings], graph: shiftGraphStrings(schema.graph) as string };
    const before = decode(schema);
    const after = decode(shifted);
    expect(before.rest).toBe(0);
    expect(after.rest).toBe(0);
    expect(before.graph.inputs.length).toBeGreaterThan(100);
    expect(before.graph.inputs.some((edges) => edges.some((edge) => edge.enumName !== undefined))).toBe(true);
    expect(after.graph).toEqual(before.graph);
    // Every key is past the gap: V8 keeps such keys out of arrays.
    expect(Math.min(...after.keys)).toBeGreaterThanOrEqual(STRING_SHIFT);
  });

  it("refuses a graph in another shape rather than write a wrong one", () => {
    const bytes = Buffer.from(schema.graph, "base64url");
    expect(() => shiftGraphStrings(bytes.subarray(0, bytes.length - 3).toString("base64url"))).toThrow(/ends early/);
    expect(() => shiftGraphStrings(Buffer.concat([bytes, Buffer.from([0])]).toString("base64url"))).toThrow(/past its roots/);
  });
});
