// The node's block in /etc/hosts, as text: what it holds, and replacing or removing it in the
// file's text without touching any line it did not write. Pure (src/daemon/hostsfile.ts does
// the file's locking and atomic rewrite).
//
// One block per interface (the interface name is unique on the machine, the network name may
// not be: two nodes of one network), between markers that name both:
//   # BEGIN WireHub IFACE network NETWORK (written by wh up, removed by wh down; do not edit)
//   10.77.0.1	alice.NETWORK alice
//   fd00::1	alice.NETWORK alice
//   # END WireHub IFACE
import type { Zone } from './nameszone.js';

const BEGIN = '# BEGIN WireHub ';
const END = '# END WireHub ';

/** A file this code will not edit: a block of ours without its end marker. */
export class HostsBlockError extends Error {}

/** The entries of the block: `IP<TAB>NAME.NETWORK NAME`, IPv4 lines then IPv6, by name. */
export function hostsEntries(zone: Zone): string[] {
  const line = (ip: string, name: string): string => `${ip}\t${name}.${zone.network} ${name}`;
  return [
    ...zone.entries.filter((e) => e.ipv4).map((e) => line(e.ipv4!, e.name)),
    ...zone.entries.filter((e) => e.ipv6).map((e) => line(e.ipv6!, e.name)),
  ];
}

/** The whole block of interface `iface`, markers included. */
export function hostsBlock(iface: string, zone: Zone): string[] {
  return [`${BEGIN}${iface} network ${zone.network} (written by wh up, removed by wh down; do not edit)`, ...hostsEntries(zone), `${END}${iface}`];
}

/** The interface a marker line names, when it is one of ours. */
function markerOf(line: string, marker: string): string | undefined {
  if (!line.startsWith(marker)) return undefined;
  return /^(\S+)/.exec(line.slice(marker.length))?.[1];
}

/**
 * `text` with the block of `iface` replaced by `block` (undefined: removed). Every other line
 * stays as it was, byte for byte. Every block of `iface` goes (a duplicate, too); the new one
 * takes the place of the first, or is appended at the end. Throws HostsBlockError when a
 * begin marker of `iface` has no end marker (the lines after it may not be ours).
 */
export function replaceHostsBlock(text: string, iface: string, block: string[] | undefined): string {
  const lines = text === '' ? [] : text.split('\n');
  // A final newline leaves an empty last element: it is not a line.
  const finalNewline = text.endsWith('\n');
  if (finalNewline) lines.pop();
  const out: string[] = [];
  let at: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const begin = markerOf(lines[i]!.replace(/\r$/, ''), BEGIN);
    if (begin !== iface) { out.push(lines[i]!); continue; }
    let j = i + 1;
    while (j < lines.length && markerOf(lines[j]!.replace(/\r$/, ''), END) !== iface) j++;
    if (j >= lines.length) throw new HostsBlockError(`line ${i + 1}: "${BEGIN}${iface}" has no "${END}${iface}" after it; fix the file by hand`);
    at ??= out.length;
    i = j;
  }
  if (block !== undefined) out.splice(at ?? out.length, 0, ...block);
  if (out.length === 0) return '';
  // The text keeps its final newline (or its lack of one, when our block is not last).
  const last = out[out.length - 1];
  const ends = finalNewline || (block !== undefined && last === block[block.length - 1]);
  return out.join('\n') + (ends ? '\n' : '');
}

/** The interfaces that have a block in `text` (for leftovers and tests). */
export function hostsBlocks(text: string): string[] {
  return text.split('\n').map((l) => markerOf(l.replace(/\r$/, ''), BEGIN)).filter((x): x is string => x !== undefined);
}
