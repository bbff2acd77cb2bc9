// Running `nft` for the firewall modules: a missing `nft` or a refused script becomes a
// FirewallError meant for the user.
import { findExecutable, installHint, NFT, runTool, WgError } from '../util/exec.js';

/** An error about WireHub's firewall rules, meant for the user. */
export class FirewallError extends Error {
  override name = 'FirewallError';
}

/** Runs `nft ARGS` (in named network namespace `netns`, with `input` on stdin). `need` says
 *  what needs nftables, for the error when `nft` is not installed. */
export async function runNft(args: string[], opts: { netns?: string; input?: string }, need: string): Promise<string> {
  if (findExecutable(NFT.cmd, true) === undefined) throw new FirewallError(`\`nft\` not found: ${need} needs nftables (${installHint('nftables')})`);
  try {
    return await runTool(NFT, args, opts);
  } catch (e) {
    throw e instanceof WgError ? new FirewallError(e.message) : e;
  }
}

/** The tables that exist, as "FAMILY NAME" (e.g. "ip wirehub-wh-Ab12Cd34"), in `netns`;
 *  none when nft is not installed. */
export async function nftTables(netns?: string): Promise<Set<string>> {
  if (findExecutable(NFT.cmd, true) === undefined) return new Set();
  const out = await runNft(['list', 'tables'], netns !== undefined ? { netns } : {}, 'listing the firewall tables');
  return new Set(out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('table ')).map((l) => l.slice('table '.length)));
}
