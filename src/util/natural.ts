// Natural ordering for rids and subset names: digit runs compare as numbers, so
// container#2 sorts before container#10 (om3 sorts them as plain strings).

const CHUNK = /(\d+)|(\D+)/g;

function chunks(s: string): string[] {
  return s.match(CHUNK) ?? [];
}

/** Compare two strings, digit runs by numeric value, the rest by code unit. */
export function naturalCompare(a: string, b: string): number {
  const ca = chunks(a);
  const cb = chunks(b);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i] as string;
    const y = cb[i] as string;
    if (x === y) continue;
    const xNum = /^\d/.test(x);
    const yNum = /^\d/.test(y);
    if (xNum && yNum) {
      // BigInt: a long digit run must not lose precision; equal values with
      // different zero padding fall back to the shorter-first string order.
      const d = BigInt(x) - BigInt(y);
      if (d !== 0n) return d < 0n ? -1 : 1;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return ca.length - cb.length;
}

/** Sort comparator for rids (`container#2` < `container#10`), also fit for subset names. */
export function compareRids(a: string, b: string): number {
  return naturalCompare(a, b);
}
