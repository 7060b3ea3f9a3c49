// The layout commands' entry (src/cli/layout-main.ts): the words it serves are the launcher's
// and lean commands, and every line it cannot take without yargs comes back as null, before
// any output, for the full CLI to parse (the lines it does take are run by cli-bundle's table,
// bundled and unbundled).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LAYOUT_WORDS, main } from '../../src/cli/layout-main.js';
import { LEAN_COMMANDS } from '../../src/cli/lean.js';

const launcher = readFileSync(fileURLToPath(new URL('../../../bin/ocibundle', import.meta.url)), 'utf8');

test('the layout words are the launcher\'s and lean commands', () => {
  const m = /^const LAYOUT_WORDS = (\[[^\]]*\]);$/m.exec(launcher);
  assert.ok(m, 'bin/ocibundle declares LAYOUT_WORDS');
  assert.deepEqual(JSON.parse(m[1]!.replace(/'/g, '"')), [...LAYOUT_WORDS]);
  for (const w of LAYOUT_WORDS) assert.ok(LEAN_COMMANDS.includes(w), `${w} is a lean command`);
});

test('lines for the full CLI: null, nothing printed', async (t) => {
  const cases: [string, string[]][] = [
    ['no words', []],
    ['another command', ['unpack', '--image', 'x', 'b']],
    ['help', ['ls', '--help']],
    ['a flag without its value', ['ls', '--layout']],
    ['an unknown flag', ['tag', '--image', 'x', '--frobnicate', 'y']],
    ['a missing positional', ['tag', '--image', 'x']],
    ['an inherited property name', ['constructor']],
    ['a prototype name', ['__proto__']],
  ];
  for (const [name, argv] of cases) {
    await t.test(name, async () => {
      assert.equal(await main(argv), null);
      assert.equal(process.exitCode, undefined);
    });
  }
});
