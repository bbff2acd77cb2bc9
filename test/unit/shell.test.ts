// Commands we suggest to the user (wh up's workbit hint, boot refusals) quote their words so a
// shell reads them back unchanged: checked with a real /bin/sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { shellWord } from '../../src/util/shell.js';

test('shellWord: /bin/sh reads every word back as it was, nothing is run', () => {
  const words = ['public', 'my net', "it's", '$(touch /tmp/wh-shell-pwned)', '`id`', 'a"b', 'semi;colon', '*', '~', 'x\\y', ''];
  for (const w of words) {
    const out = execFileSync('/bin/sh', ['-c', `printf %s ${shellWord(w)}`], { encoding: 'utf8' });
    assert.equal(out, w, `shellWord(${JSON.stringify(w)}) = ${shellWord(w)}`);
  }
  assert.equal(shellWord('public'), 'public', 'plain words stay plain');
});
