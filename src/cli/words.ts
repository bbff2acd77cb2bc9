// Counted words and ages as `wh` prints them: "1 node", "2 nodes", "1 second ago".
/** "1 node", "0 nodes", "3 nodes" (`many` for irregular plurals). */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A duration of `s` whole seconds: seconds below 2 minutes, minutes below 2 hours, then hours,
 *  then days from 2 days on. */
export function duration(s: number): string {
  const n = Math.max(0, Math.round(s));
  if (n < 120) return plural(n, 'second');
  if (n < 7200) return plural(Math.round(n / 60), 'minute');
  if (n < 172_800) return plural(Math.round(n / 3600), 'hour');
  return plural(Math.round(n / 86_400), 'day');
}

/** "5 seconds ago", "1 minute ago". */
export function agoText(seconds: number): string {
  return `${duration(seconds)} ago`;
}
