// The Prisma client's parameterization graph, re-encoded so that the idle
// server does not hold it as thousands of 8 KB arrays (scripts/build-server.mjs).
//
// Prisma's runtime decodes the graph (`config.parameterizationSchema` of the
// generated client) into one plain object per node, whose keys are indexes
// into the graph's strings: `edges[index] = edge`. V8 stores an object's
// integer keys as an array as long as the largest index is less than 1024
// past what the array holds (and, while the object is young, up to 5,000
// entries): an object whose one key is 900 gets an array of 1,400 slots. The
// decoded graph held 7.7 MiB of the server's heap, most of it such holes
// (BENCHMARKS.md, "Idle server"). Shifted by 1024 placeholder strings put
// before the real ones, every key is 1024 or more, which V8 stores in a small
// hash table from the first one on.
//
// The format, as the runtime reads it (@prisma/client/runtime, class `Li`):
// varint counts of input nodes, output nodes and roots; each input node a
// varint edge count and per edge a varint string index, a 16-bit scalar mask,
// an optional child node id, an optional enum name (a string index) and a
// flags byte; each output node a varint edge count and per edge a varint
// string index and two optional node ids; each root a varint string index and
// two optional node ids. Varints are LEB128; an optional one is 0 for none or
// its value plus one.

/** Placeholders before the real strings: V8's gap for keeping an object's integer keys in an array (JSObject::kMaxGap). */
export const STRING_SHIFT = 1024;

/** `graph` (base64) with every string index moved up by `shift`; throws if it is not the format above. */
export function shiftGraphStrings(graph, shift = STRING_SHIFT) {
  const input = Buffer.from(graph, "base64url");
  const out = [];
  let at = 0;
  const byte = () => {
    if (at >= input.length) throw new Error("the parameterization graph ends early");
    return input[at++];
  };
  const varint = () => {
    let value = 0;
    let bits = 0;
    let b;
    do {
      b = byte();
      value += (b & 127) * 2 ** bits;
      bits += 7;
    } while (b >= 128);
    return value;
  };
  const writeVarint = (value) => {
    let rest = value;
    while (rest >= 128) {
      out.push((rest % 128) | 128);
      rest = Math.floor(rest / 128);
    }
    out.push(rest);
  };
  const copyVarint = () => writeVarint(varint());
  const stringIndex = () => writeVarint(varint() + shift);
  const optionalStringIndex = () => {
    const value = varint();
    writeVarint(value === 0 ? 0 : value + shift);
  };
  const copyBytes = (n) => {
    for (let i = 0; i < n; i += 1) out.push(byte());
  };
  const inputNodes = varint();
  const outputNodes = varint();
  const roots = varint();
  for (const count of [inputNodes, outputNodes, roots]) writeVarint(count);
  for (let node = 0; node < inputNodes; node += 1) {
    const edges = varint();
    writeVarint(edges);
    for (let edge = 0; edge < edges; edge += 1) {
      stringIndex(); // the key
      copyBytes(2); // scalar mask
      copyVarint(); // child node
      optionalStringIndex(); // enum name
      copyBytes(1); // flags
    }
  }
  for (let node = 0; node < outputNodes; node += 1) {
    const edges = varint();
    writeVarint(edges);
    for (let edge = 0; edge < edges; edge += 1) {
      stringIndex();
      copyVarint();
      copyVarint();
    }
  }
  for (let root = 0; root < roots; root += 1) {
    stringIndex();
    copyVarint();
    copyVarint();
  }
  if (at !== input.length) throw new Error(`the parameterization graph has ${input.length - at} bytes past its roots`);
  return Buffer.from(out).toString("base64url");
}
