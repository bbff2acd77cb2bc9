// `wh install-service [--unit-dir DIR] [--print]`: installs the systemd unit template wh@.service
// (systemd/wh@.service in the package) with the ExecStart and ExecReload of the wh that runs
// this command (its Node.js and its script, absolute), so that `systemctl enable --now wh@NAME`
// runs `wh up NAME --foreground` on /etc/wirehub/NAME.conf. Then `systemctl daemon-reload` when
// systemd runs this machine and the unit went to its directory. README, "systemd".
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../config/index.js';
import { CliError } from '../errors.js';

export const UNIT_DIR = '/etc/systemd/system';
export const UNIT_NAME = 'wh@.service';
/** The template in the package (dist/src/cli/commands/ -> the package's root). */
export const UNIT_TEMPLATE = fileURLToPath(new URL(`../../../../systemd/${UNIT_NAME}`, import.meta.url));
/** How the template names wh: the path `npm install -g` gives it with the default prefix. */
const TEMPLATE_WH = '/usr/local/bin/wh';

/** The unit for this wh: the template's `/usr/local/bin/wh` replaced by `NODE SCRIPT`. */
export function unitText(template: string, node: string, script: string): string {
  // systemd splits ExecStart like a shell would; a path with a space is quoted.
  const q = (p: string) => (/^[\w@%+=:,./-]+$/.test(p) ? p : `"${p.replace(/(["\\])/g, '\\$1')}"`);
  const lines = template.split('\n').map((l) => (/^Exec(Start|Reload)=/.test(l) ? l.replace(TEMPLATE_WH, `${q(node)} ${q(script)}`) : l));
  return lines.join('\n');
}

function systemdRuns(): boolean {
  return fs.existsSync('/run/systemd/system');
}

export function register(program: Command): void {
  program
    .command('install-service')
    .description(`install the systemd unit template ${UNIT_NAME} (then: systemctl enable --now wh@NAME)`)
    .option('--unit-dir <DIR>', `where to write ${UNIT_NAME}`, UNIT_DIR)
    .option('--print', 'print the unit instead of writing it')
    .action(async (opts: { unitDir: string; print?: boolean }) => {
      let template: string;
      try { template = fs.readFileSync(UNIT_TEMPLATE, 'utf8'); } catch (e) {
        throw new CliError(`cannot read the unit template ${UNIT_TEMPLATE}: ${e instanceof Error ? e.message : String(e)}`);
      }
      const script = path.resolve(process.argv[1]!);
      const text = unitText(template, process.execPath, script);
      if (opts.print) { process.stdout.write(text); return; }
      const file = path.join(opts.unitDir, UNIT_NAME);
      try {
        await writeFileAtomic(file, text, 0o644);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new CliError(`cannot write ${file}: ${code === 'EACCES' || code === 'EPERM' ? 'permission denied (needs root: sudo wh install-service)' : e instanceof Error ? e.message : String(e)}`);
      }
      process.stdout.write(`wrote ${file} (ExecStart=${process.execPath} ${script} up %i --foreground)\n`);
      if (path.resolve(opts.unitDir) === UNIT_DIR && systemdRuns()) {
        try {
          execFileSync('systemctl', ['daemon-reload'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
        } catch (e) {
          throw new CliError(`wrote ${file}, but systemctl daemon-reload failed: ${e instanceof Error ? e.message : String(e)}; run it yourself`);
        }
        process.stdout.write('systemd reloaded its units\n');
      } else if (path.resolve(opts.unitDir) === UNIT_DIR) {
        process.stdout.write('systemd does not run this machine (no /run/systemd/system): nothing reloaded\n');
      }
      process.stdout.write(`start a node of network NAME (/etc/wirehub/NAME.conf) at every boot: systemctl enable --now wh@NAME\n`);
    });
}
