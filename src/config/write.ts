// Writing network config files: the one edit `wh` makes to a file a person also edits, adding a
// `trust` line (an invitation accepted, src/daemon/invites.ts). The text is kept byte for byte
// (comments, blank lines, other lines); the new line goes at the end. The file is replaced
// atomically: a temporary file in the same directory, with the original's mode, flushed, then
// renamed over it, so a reader sees the old file or the new one, never half of one.
import fs from 'node:fs/promises';
import path from 'node:path';

/** `trust [HOSTNAME] KEY`, with a comment saying where it came from. */
export function trustLine(keyB64: string, hostname: string | undefined, comment?: string): string {
  return `trust ${hostname !== undefined ? `${hostname} ` : ''}${keyB64}${comment ? `   # ${comment}` : ''}`;
}

/** The text with `line` appended (after a newline if the text does not end with one). */
export function appendLine(text: string, line: string): string {
  return `${text}${text.length > 0 && !text.endsWith('\n') ? '\n' : ''}${line}\n`;
}

/** Replaces `file` by `text` atomically, keeping the file's mode (`mode` for a new file). */
export async function writeFileAtomic(file: string, text: string | Uint8Array, mode = 0o644): Promise<void> {
  const keep = await fs.stat(file).then((s) => s.mode & 0o7777, () => mode);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const h = await fs.open(tmp, 'wx', keep);
  try {
    await h.writeFile(text);
    await h.chmod(keep); // the umask may have narrowed it
    await h.sync();
  } catch (e) {
    await h.close();
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await h.close();
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
