// The "did you mean" of unknown directives: edit distance to the known keywords. Pure.
import { DIRECTIVES, type Directive } from './directives.js';

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push(new Array<number>(b.length + 1).fill(0));
    d[i]![0] = i;
  }
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known directive closest to `word` (case-insensitive, at most 2 edits away), if any. */
export function suggestDirective(word: string): Directive | undefined {
  const w = word.toLowerCase();
  let best: Directive | undefined;
  let bestDist = 3;
  for (const d of DIRECTIVES) {
    const dist = editDistance(w, d);
    if (dist < bestDist && dist < d.length) { best = d; bestDist = dist; }
  }
  return best;
}
