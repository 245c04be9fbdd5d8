/**
 * Functions over lists whose length comes from the input (principals, grants, diagnostics, statements).
 * A spread into call arguments (`a.push(...b)`, `Math.max(...b)`) passes every item on the stack and
 * throws "Maximum call stack size exceeded" past about 120,000 items; these loop instead.
 * test/unit/no-call-spread.test.ts keeps such spreads out of the code.
 */

/** Append every item of `items` to `target` (what `target.push(...items)` does, for any length). */
export function pushAll<T>(target: T[], items: Iterable<T>): T[] {
  for (const item of items) target.push(item);
  return target;
}

/** The largest of `values`, or `floor` when there are none or all are smaller (Math.max(floor, ...values)). */
export function maxOf(values: Iterable<number>, floor = -Infinity): number {
  let max = floor;
  for (const v of values) if (v > max) max = v;
  return max;
}
