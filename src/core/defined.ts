/**
 * `o` without its undefined members: `...defined({ window: p.window, batch: p.batch })`
 * in place of one `...(p.window !== undefined ? { window: p.window } : {})` per key.
 * Optional members stay absent rather than present-and-undefined, which matters
 * when the object is spread over defaults, encoded (CBOR) or compared in tests.
 */
export function defined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}
