#!/usr/bin/env node
/**
 * One coverage figure for src/, from the two places code runs in tests:
 * the test processes (vitest --coverage: coverage/tests/coverage-final.json)
 * and the server and worker processes tests start (their raw V8 coverage,
 * turned into coverage/processes-report/coverage-final.json by c8). The two
 * tools split statements differently, so they are joined by line: a line
 * counts as run when either side ran it, out of the lines vitest found code
 * on. Prints a table per folder and the totals; writes coverage/summary.json.
 * Reports; never fails the build (no threshold yet).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

const root = process.cwd();
const read = (file) => (existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {});
const tests = read(join(root, "coverage/tests/coverage-final.json"));
const processes = read(join(root, "coverage/processes-report/coverage-final.json"));
if (Object.keys(tests).length === 0) {
  console.error("coverage-summary: no coverage/tests/coverage-final.json (run vitest with --coverage first)");
  process.exit(1);
}

/** line → hits, as istanbul's getLineCoverage: a line's count is its first statement's. */
function lines(file) {
  const out = new Map();
  if (!file) return out;
  for (const [id, loc] of Object.entries(file.statementMap)) {
    const line = loc.start.line;
    const hits = file.s[id] ?? 0;
    out.set(line, Math.max(out.get(line) ?? 0, hits));
  }
  return out;
}

const folders = new Map();
const totals = { lines: 0, tests: 0, processes: 0, either: 0 };
for (const [path, file] of Object.entries(tests)) {
  const name = relative(root, path);
  const folder = name.split("/").slice(0, 2).join("/").replace(/\.ts$/, "");
  const mine = lines(file);
  const theirs = lines(processes[path]);
  const row = folders.get(folder) ?? { lines: 0, tests: 0, processes: 0, either: 0 };
  for (const [line, hits] of mine) {
    const other = theirs.get(line) ?? 0;
    row.lines += 1;
    if (hits > 0) row.tests += 1;
    if (other > 0) row.processes += 1;
    if (hits > 0 || other > 0) row.either += 1;
  }
  folders.set(folder, row);
}
for (const row of folders.values()) for (const key of Object.keys(totals)) totals[key] += row[key];

const pct = (n, d) => (d === 0 ? "-" : `${((100 * n) / d).toFixed(1)}%`);
const rows = [...folders.entries()].sort(([a], [b]) => a.localeCompare(b));
const width = Math.max(...rows.map(([name]) => name.length), 12);
console.log(`\nLine coverage of src/ (tests: in the test processes; servers: in processes the tests started; both: either)\n`);
console.log(`${"folder".padEnd(width)}  ${"lines".padStart(6)}  ${"tests".padStart(7)}  ${"servers".padStart(7)}  ${"both".padStart(7)}`);
for (const [name, row] of [...rows, ["all of src/", totals]]) {
  console.log(
    `${name.padEnd(width)}  ${String(row.lines).padStart(6)}  ${pct(row.tests, row.lines).padStart(7)}  ${pct(row.processes, row.lines).padStart(7)}  ${pct(row.either, row.lines).padStart(7)}`,
  );
}
writeFileSync(join(root, "coverage/summary.json"), JSON.stringify({ totals, folders: Object.fromEntries(rows) }, null, 2));
