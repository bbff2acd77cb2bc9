// Quoting for commands we suggest to the user: a word that a POSIX shell reads back unchanged.

/** `s` as one shell word: as is when it is plain, else single-quoted (a `'` inside as `'\''`). */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9._,:+=@%/-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
