/** Rows found by id, in the order of `ids` (a payload lists what the service returned, in order). */
export function inOrderOf<T extends { id: string }>(ids: readonly string[], rows: T[]): T[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id)).filter((row): row is T => row !== undefined);
}
