import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchByKey } from '../../provider/plan/diff';

/** What diffState did before: two Maps (last item wins per key, keys in first-seen order). */
function withMaps<T>(desired: T[], actual: T[], key: (t: T) => string) {
  const a = new Map(actual.map((x) => [key(x), x]));
  const d = new Map(desired.map((x) => [key(x), x]));
  return { pairs: [...d].map(([k, w]) => [w, a.get(k)]), unmatched: [...a].filter(([k]) => !d.has(k)).map(([, h]) => h) };
}

describe('matchByKey pairs desired and actual items exactly as two Maps would', () => {
  const item = fc.record({ k: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), v: fc.nat(5) });
  const key = (x: { k: string }) => x.k;
  const byKey = (xs: { k: string; v: number }[]) => [...xs].sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : 0));

  it('on lists sorted by key (the merge path)', () => {
    fc.assert(
      fc.property(fc.array(item), fc.array(item), (d, a) => {
        const [ds, as] = [byKey(d), byKey(a)];
        expect(matchByKey(ds, as, key)).toEqual(withMaps(ds, as, key));
      }),
    );
  });

  it('on lists in any order (the Map path)', () => {
    fc.assert(
      fc.property(fc.array(item), fc.array(item), (d, a) => {
        expect(matchByKey(d, a, key)).toEqual(withMaps(d, a, key));
      }),
    );
  });
});
