// Reading a small file the user names (a private key, a network config): only a regular file,
// never more than `limit` bytes, and nothing that can block. The path is stat()ed first, so a
// FIFO, a device or a directory is refused without being opened; the file is then opened
// non-blocking and fstat()ed again (it may have been swapped meanwhile), and read until EOF or
// limit + 1 bytes, whatever its size claims (/proc files say 0, a growing file lies).
// Errors say why in a few words and never quote the file's content.
import fs from 'node:fs';

export class FileReadError extends Error {}

function kindOf(st: fs.Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function notRegular(st: fs.Stats): FileReadError | undefined {
  const kind = kindOf(st);
  return kind === undefined ? undefined : new FileReadError(`is ${kind}, not a regular file`);
}

/** A short reason for a failed stat/open/read. */
export function describeErrno(err: unknown): string {
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'ELOOP': return 'too many levels of symbolic links';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    case 'ENXIO': return 'not a regular file';
    default: return err instanceof Error ? err.message : String(err);
  }
}

/** The bytes of regular file `path`, at most `limit` of them; throws FileReadError otherwise. */
export function readBoundedFile(path: string, limit: number): Buffer {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (e) {
    throw new FileReadError(describeErrno(e));
  }
  const refused = notRegular(st);
  if (refused) throw refused;
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (e) {
    throw new FileReadError(describeErrno(e));
  }
  try {
    const swapped = notRegular(fs.fstatSync(fd));
    if (swapped) throw swapped;
    const buf = Buffer.alloc(limit + 1);
    let n = 0;
    while (n < buf.length) {
      const got = fs.readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > limit) {
      buf.fill(0);
      throw new FileReadError(`larger than ${limit} bytes`);
    }
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof FileReadError) throw e;
    throw new FileReadError(describeErrno(e));
  } finally {
    fs.closeSync(fd);
  }
}
