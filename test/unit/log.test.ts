// The logger never throws: a full disk (/dev/full answers every write with ENOSPC) costs log
// lines, counted, not the daemon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/util/log.js';

test('logging to a full device never throws', () => {
  const log = createLogger({ file: '/dev/full', level: 'debug' });
  for (let i = 0; i < 100; i++) {
    assert.doesNotThrow(() => log.error(`line ${i}`));
    assert.doesNotThrow(() => log.debug(`line ${i}`));
  }
});

test('lines lost while the file cannot be written are counted, and said once it can', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'whlog-'));
  try {
    const file = path.join(dir, 'x.log');
    let failing = false;
    // The real fs, with writes that fail like a full disk while `failing` is set.
    const realWrite = fs.writeSync;
    const log = createLogger({ file, level: 'info', stderr: () => undefined });
    (fs as { writeSync: typeof fs.writeSync }).writeSync = ((...a: Parameters<typeof fs.writeSync>) => {
      if (failing) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return realWrite(...a);
    }) as typeof fs.writeSync;
    try {
      log.info('before');
      failing = true;
      log.info('lost 1');
      log.warn('lost 2');
      log.debug('below the level: not counted');
      failing = false;
      log.info('after');
    } finally {
      (fs as { writeSync: typeof fs.writeSync }).writeSync = realWrite;
    }
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.replace(/^\S+ /, ''));
    assert.equal(lines.length, 3, lines.join('\n'));
    assert.match(lines[0]!, /INFO +before$/);
    assert.match(lines[1]!, /WARN +2 log lines lost \(ENOSPC: no space left on device, write\)$/);
    assert.match(lines[2]!, /INFO +after$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('logging to stderr whose reader is gone (EPIPE) does not kill the process', async () => {
  const { spawn } = await import('node:child_process');
  const logModule = new URL('../../src/util/log.js', import.meta.url).href;
  const script = `const m = await import(${JSON.stringify(logModule)}); const l = m.createLogger();
    let n = 0; const t = setInterval(() => { for (let i = 0; i < 50; i++) l.info('line ' + n++); }, 5);
    setTimeout(() => { clearInterval(t); process.exit(0); }, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.once('data', () => child.stderr!.destroy()); // the reader goes away
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  assert.equal(code, 0, 'the logging process ran to its end');
});
