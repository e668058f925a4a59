import type { ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { stringify } from "csv-stringify";

/**
 * CSV exports, streamed: rows are pulled from an async iterable only as fast
 * as the client reads them, so an export of a million commissions holds a
 * few pages in memory, never the whole table.
 */

/** A cell whose first non-whitespace character is one of these is read as a formula by spreadsheets. */
const FORMULA_TRIGGERS = new Set(["=", "+", "-", "@"]);
/** Leading characters that spreadsheets act on even before the first visible one (OWASP). */
const CONTROL_TRIGGERS = new Set(["\t", "\r"]);
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;
/** Leading whitespace (Unicode, line breaks included) that spreadsheets skip before reading a formula. */
const LEADING_SPACE = /^\s*/u;

/**
 * Escapes a cell against spreadsheet formula injection (OWASP): a text cell
 * starting with tab or carriage return, or whose first non-whitespace
 * character is =, +, - or @ (" =1+1", "\n=1+1", " @x": spreadsheets and
 * their import wizards trim the blanks and run what follows), gets a leading
 * apostrophe; a cell that is a plain decimal number (/^-?\d+(\.\d+)?$/,
 * like "-5.00") is left alone, since spreadsheets read it as a number, not a
 * formula.
 *
 * csv-stringify's own `escape_formulas` is not used: it would turn a
 * clawback of "-5.00" (money travels as strings) into the text "'-5.00", and
 * it looks at the first character only.
 */
export function escapeCell(value: string): string {
  if (PLAIN_DECIMAL.test(value)) return value;
  if (CONTROL_TRIGGERS.has(value.charAt(0))) return `'${value}`;
  const first = value.charAt(LEADING_SPACE.exec(value)![0].length);
  return FORMULA_TRIGGERS.has(first) ? `'${value}` : value;
}

/**
 * What a row may hold. Dates become ISO 8601 (UTC), null and undefined an
 * empty cell, booleans "true"/"false". Numbers are for counts only: money
 * must arrive as its decimal string, so a non-integer number is refused
 * rather than printed with binary floating-point noise.
 */
export type CsvCell = string | number | boolean | Date | null | undefined;

function cellText(cell: CsvCell): string {
  if (cell === null || cell === undefined) return "";
  if (typeof cell === "string") return escapeCell(cell);
  if (typeof cell === "boolean") return cell ? "true" : "false";
  if (typeof cell === "number") {
    // Safe integers only: 1e21 would print as "1e+21", a float as "0.30000000000000004".
    if (!Number.isSafeInteger(cell)) {
      throw new TypeError(`CSV cell ${cell} is not an integer: pass money and other decimals as strings`);
    }
    return String(cell);
  }
  if (Number.isNaN(cell.getTime())) throw new RangeError("CSV cell is an invalid Date");
  // Not escaped: we produce it, and a year past 9999 ("+10000-…") is still a date, not a formula.
  return cell.toISOString();
}

/** A filename safe inside a quoted header parameter: no quotes, backslashes, controls or non-ASCII. */
const PLAIN_FILENAME = /^[\x20-\x7e]+$/;

/**
 * `attachment; filename="<filename>"`, as is for a plain ASCII name. Any
 * other name (a partner's name with an accent, a quote) gets an ASCII
 * fallback plus the RFC 6266 / RFC 5987 `filename*` form: Node refuses
 * header values outside Latin-1, and a raw quote would end the parameter.
 */
function contentDisposition(filename: string): string {
  if (PLAIN_FILENAME.test(filename) && !/["\\]/.test(filename)) return `attachment; filename="${filename}"`;
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/**
 * Writes a CSV to a Node http.ServerResponse as it is produced: headers
 * `content-type: text/csv; charset=utf-8`, `content-disposition: attachment;
 * filename="<filename>"`, `cache-control: no-store`, a header row, then the
 * rows of an async iterable of row arrays (pulled lazily, respecting
 * backpressure: never buffer the whole export). RFC 4180 quoting (via
 * csv-stringify), CRLF line endings, UTF-8 without BOM. If the iterable
 * throws after the first byte, destroy the response (a truncated download
 * must not look complete).
 *
 * Nothing is written until the first row is in hand: if the iterable fails
 * at once (the first query fails), the promise rejects with the response
 * untouched, so the caller can still answer with an error status. Once bytes
 * are out, the status is 200 and cannot change; then a failure destroys the
 * connection, which the client sees as a network error instead of a file that
 * looks complete. The promise rejects in both cases (and if the client goes
 * away mid-download), after the iterable has been closed (`return()`), so a
 * paged query stops.
 */
export async function streamCsv(res: ServerResponse, filename: string, header: string[], rows: AsyncIterable<CsvCell[]>): Promise<void> {
  const iterator = rows[Symbol.asyncIterator]();
  const columns = header.length;
  const line = (row: CsvCell[], index: number): string[] => {
    // A short or long row would shift every later cell under the wrong heading.
    if (row.length !== columns) throw new RangeError(`CSV row ${index} has ${row.length} cells, the header has ${columns}`);
    return row.map(cellText);
  };

  // The first row is awaited before anything is written; an iterator that
  // throws is finished (no return()), one whose row we refuse is closed.
  const first = await iterator.next();
  let firstLine: string[] | undefined;
  if (!first.done) {
    try {
      firstLine = line(first.value, 1);
    } catch (error) {
      await iterator.return?.().catch(() => undefined);
      throw error;
    }
  }

  res.setHeader("content-type", "text/csv; charset=utf-8");
  res.setHeader("content-disposition", contentDisposition(filename));
  // An export is a snapshot of one tenant's ledger: no shared or browser cache may keep it.
  res.setHeader("cache-control", "no-store");

  // Whether the source has ended or thrown; otherwise it is still open and
  // must be closed (return()) when we stop early, so a paged query stops.
  let sourceDone = first.done === true;
  async function* records(): AsyncGenerator<string[]> {
    yield header.map(escapeCell);
    if (firstLine === undefined) return;
    yield firstLine;
    for (let index = 2; ; index += 1) {
      let next: IteratorResult<CsvCell[]>;
      try {
        next = await iterator.next();
      } catch (error) {
        sourceDone = true;
        throw error;
      }
      if (next.done) {
        sourceDone = true;
        return;
      }
      yield line(next.value, index);
    }
  }

  const stringifier = stringify({
    record_delimiter: "\r\n",
    // A record_delimiter turns this off by default; RFC 4180 wants any field holding CR or LF quoted.
    quote_record_delimiter: true,
    bom: false,
    eof: true,
  });

  try {
    // pipeline pulls `records` only when the stringifier has room, and the
    // stringifier only drains as the socket does: backpressure end to end.
    await pipeline(records(), stringifier, res);
  } catch (error) {
    // A refused row, a failed page or a client gone: close the source if it is still open.
    if (!sourceDone) await iterator.return?.().catch(() => undefined);
    // pipeline destroys its streams on failure already; make sure of the
    // response, since an ended chunked body would look like a complete file.
    if (!res.destroyed) res.destroy();
    throw error;
  }
}

/**
 * Yields rows page by page until a page comes back empty, so a caller can
 * stream a large table with keyset pagination (`WHERE (created_at, id) > …`)
 * instead of OFFSET or one huge query. The next page is fetched only when
 * the consumer asks for the row after the last one of the current page.
 */
export async function* paged<T>(fetchPage: (after: string | undefined) => Promise<T[]>, cursorOf: (row: T) => string): AsyncGenerator<T> {
  let after: string | undefined;
  for (;;) {
    const page = await fetchPage(after);
    if (page.length === 0) return;
    const last = page[page.length - 1] as T;
    const cursor = cursorOf(last);
    // A cursor that does not move would fetch the same page forever.
    if (cursor === after) throw new Error(`paged: the cursor did not advance past ${JSON.stringify(cursor)}`);
    yield* page;
    after = cursor;
  }
}
