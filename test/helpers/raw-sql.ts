import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/**
 * A static scan of the raw SQL accrue sends itself: Prisma's $queryRaw,
 * $executeRaw and their Unsafe forms, pg/PGlite client calls
 * (`pool.query`, `client.query`, `sql.query`, `tx.exec`...), and reads sent
 * through db/sql-read.ts (`readRows(deps, db, Prisma.sql\`...\`)`). Raw SQL skips the
 * scoped client's program filter, so each statement must name the program
 * itself (test/db/raw-sql-tenancy.test.ts).
 */
export interface RawStatement {
  /** Path relative to the repository root, and 1-based line of the call. */
  file: string;
  line: number;
  /** The call, e.g. "$queryRaw" or "pool.query". */
  call: string;
  /** The statement as written, interpolations kept as `${expression}`; null when not a literal (a variable, a built string). */
  text: string | null;
  /** The text with the definitions of the fragments it interpolates (same file) appended, for the program check. */
  expanded: string | null;
}

/**
 * Prisma's raw calls; `query`/`exec` on the names accrue gives its pg and
 * PGlite handles; and `.query(`/`.exec(` on any other receiver whose first
 * argument is a literal starting with an SQL keyword (upper case, as this
 * code base writes SQL; QuickBooks' lower-case query language is not ours).
 */
const CALL =
  /\breadRows\b(?=\s*[<(])|\$(?:queryRaw|executeRaw)(?:Unsafe)?\b|\b(?:pglite|pool|client|tx|sql)\s*\.\s*(?:query|exec)\b(?=\s*[<(])|\.\s*(?:query|exec)\b(?=\s*(?:<[^>]*>)?\s*\(\s*[`'"]\s*(?:SELECT|INSERT|UPDATE|DELETE|WITH|TRUNCATE)\b)/g;

/** Reads a string or template literal starting at `start` (its opening quote); returns its raw text and the index after it. */
function readLiteral(source: string, start: number): { text: string; end: number } {
  const quote = source[start]!;
  let i = start + 1;
  let text = "";
  while (i < source.length) {
    const c = source[i]!;
    if (c === "\\") {
      text += source.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === quote) return { text, end: i + 1 };
    if (quote === "`" && c === "$" && source[i + 1] === "{") {
      const expression = readExpression(source, i + 2);
      text += "${" + expression.text + "}";
      i = expression.end;
      continue;
    }
    text += c;
    i += 1;
  }
  throw new Error(`unterminated literal at ${start}`);
}

/** Reads an interpolated expression up to its closing brace (nested braces and literals included). */
function readExpression(source: string, start: number): { text: string; end: number } {
  let depth = 0;
  let i = start;
  let text = "";
  while (i < source.length) {
    const c = source[i]!;
    if (c === "`" || c === '"' || c === "'") {
      const literal = readLiteral(source, i);
      text += source.slice(i, literal.end);
      i = literal.end;
      continue;
    }
    if (c === "{") depth += 1;
    if (c === "}") {
      if (depth === 0) return { text, end: i + 1 };
      depth -= 1;
    }
    text += c;
    i += 1;
  }
  throw new Error(`unterminated interpolation at ${start}`);
}

/** Skips whitespace and a generic argument list (`<{ id: string }[]>`). */
function skipTypeArguments(source: string, start: number): number {
  let i = start;
  while (/\s/.test(source[i]!)) i += 1;
  if (source[i] !== "<") return i;
  let depth = 0;
  for (; i < source.length; i += 1) {
    if (source[i] === "<") depth += 1;
    if (source[i] === ">" && source[i - 1] !== "=") {
      depth -= 1;
      if (depth === 0) {
        i += 1;
        break;
      }
    }
  }
  while (/\s/.test(source[i]!)) i += 1;
  return i;
}

/** A top-level function `name` of `source`, to its next top-level declaration. */
function functionOf(source: string, name: string): string | undefined {
  const match = new RegExp(`(?:^|\\n)(?:export )?(?:async )?function\\s+${name}\\b`).exec(source);
  if (!match) return undefined;
  const rest = source.slice(match.index + 1);
  const next = /\n(?:export |function |const |async function |interface |type )/.exec(rest.slice(1));
  return next ? rest.slice(0, next.index + 1) : rest;
}

/** A `const name = ...;` of `source` (its statement only). */
function constOf(source: string, name: string): string | undefined {
  const match = new RegExp(`\\bconst\\s+${name}\\s*=`).exec(source);
  if (!match) return undefined;
  const rest = source.slice(match.index);
  const end = /;\s*(?:\n|$)/.exec(rest);
  return end ? rest.slice(0, end.index + 1) : rest;
}

/**
 * The text with the definitions of the fragments it interpolates appended,
 * three levels deep: `${movements}` brings `const movements = movementsSql(...)`
 * (same file) and that brings `function movementsSql`. A function may live
 * in another file (an imported fragment builder) and counts only if it builds
 * SQL (`Prisma.sql`); a const counts only in the same file, and only its own
 * statement, so a variable of the same name elsewhere lends nothing.
 */
function expand(source: string, others: readonly string[], text: string, depth = 3): string {
  if (depth === 0) return text;
  const interpolated = [...text.matchAll(/\$\{\s*([A-Za-z_]\w*)\s*[(}]/g)].map((m) => m[1]!);
  const initialisers = depth < 3 ? [...text.matchAll(/\bconst\s+\w+\s*=\s*([A-Za-z_]\w*)\s*\(/g)].map((m) => m[1]!) : [];
  let out = text;
  for (const name of new Set([...interpolated, ...initialisers])) {
    let definition = constOf(source, name) ?? functionOf(source, name);
    if (definition === undefined) {
      for (const other of others) {
        const found = functionOf(other, name);
        if (found?.includes("Prisma.sql")) {
          definition = found;
          break;
        }
      }
    }
    if (definition !== undefined) out += `\n/* ${name}: */\n` + expand(source, others, definition, depth - 1);
  }
  return out;
}

/** Every raw statement in one source text; `others` are the other files, where interpolated fragment builders may live. */
export function scanSource(file: string, source: string, others: readonly string[] = []): RawStatement[] {
  const found: RawStatement[] = [];
  for (const match of source.matchAll(CALL)) {
    const lineStart = source.lastIndexOf("\n", match.index) + 1;
    if (/^\s*(\*|\/\/|\/\*)/.test(source.slice(lineStart, match.index))) continue; // in a comment
    const call = match[0].replace(/\s+/g, "");
    let i = skipTypeArguments(source, match.index + match[0].length);
    let text: string | null = null;
    if (call === "readRows") {
      // Its statement is its last argument, a Prisma.sql template written in the call: one passed by
      // name has no text here (and so fails the check), never a template further down the file.
      const at = source.indexOf("Prisma.sql`", i);
      if (at >= 0 && !/[;)]/.test(source.slice(i + 1, at))) text = readLiteral(source, at + "Prisma.sql".length).text;
    } else if (source[i] === "`") {
      text = readLiteral(source, i).text;
    } else if (source[i] === "(") {
      i += 1;
      while (/\s/.test(source[i]!)) i += 1;
      if (source[i] === "`" || source[i] === '"' || source[i] === "'") text = readLiteral(source, i).text;
    }
    const line = source.slice(0, match.index).split("\n").length;
    found.push({ file, line, call, text, expanded: text === null ? null : expand(source, others, text) });
  }
  return found;
}

/** Every raw statement under `dir` (generated code left out). */
export function scanTree(root: string, dir: string): RawStatement[] {
  const files = new Map<string, string>();
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "generated") walk(full);
      } else if (entry.name.endsWith(".ts")) {
        files.set(relative(root, full), readFileSync(full, "utf8"));
      }
    }
  };
  walk(join(root, dir));
  const sources = [...files.values()];
  return [...files].flatMap(([file, source]) => scanSource(file, source, sources));
}

/**
 * Whether a statement names the program: it compares or writes program_id
 * (or a program's id) against a bound value that is the program's id, e.g.
 * `program_id = ${tx.programId}::uuid`, `SELECT ${tx.programId}::uuid, ...`
 * in an INSERT, `FROM programs WHERE id = ${programId}`.
 */
export function namesProgram(statement: RawStatement): boolean {
  const text = statement.expanded;
  if (text === null) return false;
  const bound = /\$\{[^}]*\bprogramIds?\b[^}]*\}/.test(text);
  const column = /\bprogram_id\b/.test(text) || /\bprograms\b[\s\S]*\bid\s*=\s*\$\{[^}]*programId/.test(text);
  return bound && column;
}
