// The lean command-line parser (src/cli/lean.ts) against yargs: every line it accepts parses
// to exactly the arguments yargs hands the same command's handler (a differential test over
// the shapes people type, nested `raw` and `store` commands too), every line it is not sure
// of is left to yargs (null), and its table of commands covers every command of commands.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Argv, CommandModule } from 'yargs';
import { commands } from '../../src/cli/commands.js';
import { LEAN_COMMANDS, leanParse } from '../../src/cli/lean.js';
import { buildParser } from '../../src/cli/parser.js';

/** What yargs hands the handler of the command `argv` names (nothing runs, nested commands' neither). */
async function yargsArgs(argv: string[]): Promise<Record<string, unknown>> {
  let got: Record<string, unknown> | null = null;
  // a builder's y.command(sub) registers the captured sub
  const capturing = (y: Argv): Argv => {
    const p: Argv = new Proxy(y, {
      get(target, key) {
        const v: unknown = Reflect.get(target, key, target);
        if (typeof v !== 'function') return v;
        return (...a: unknown[]) => {
          const out: unknown = v.apply(target, key === 'command' && typeof a[0] === 'object' ? [capture(a[0] as CommandModule<any, any>), ...a.slice(1)] : a);
          return out === target ? p : out;
        };
      },
    });
    return p;
  };
  const capture = (c: CommandModule<any, any>): CommandModule<any, any> => ({
    ...c,
    ...(typeof c.builder === 'function' ? { builder: (y: Argv) => (c.builder as (y: Argv) => Argv)(capturing(y)) } : {}),
    handler: (a: Record<string, unknown>) => void (got = { ...a }),
  });
  await buildParser(argv, commands.map(capture)).parseAsync();
  assert.ok(got !== null, 'yargs ran no handler');
  return got;
}

const L = '/layouts/busybox';
const LEAN: [string, string[]][] = [
  ['unpack, the common line', ['unpack', '--image', `${L}:latest`, 'bundle']],
  ['unpack, --image=, --no-mtree', ['unpack', `--image=${L}`, 'bundle', '--no-mtree']],
  ['unpack, bundle first', ['unpack', 'bundle', '--image', L]],
  ['unpack, id maps repeated', ['unpack', '--image', L, '--rootless', '--uid-map', '0:1000:1', '--uid-map', '1:2000:10', '--gid-map', '0:1000:1', 'b']],
  ['unpack, booleans', ['unpack', '--image', L, 'b', '--force', '--json', '--tty', '--no-volumes', '--keep-dirlinks', '--verbose', '--max-size', '2G']],
  ['unpack, boolean =false/=true', ['unpack', '--image', L, 'b', '--tls-verify=false', '--mtree=true']],
  [
    'unpack, shaping flags',
    ['unpack', '--image', L, 'b', '--env', 'A=1', '--env', 'B=2', '--mount', 'type=tmpfs,dst=/x', '--args', '["sh","-c","x"]', '--user', '1:2', '--cwd', '/x', '--hostname', 'h', '--net', 'host', '--annotation', 'k=v', '--readonly-rootfs', '--config-patch', 'p.json', '--entrypoint', 'sh', '--cmd', 'x'],
  ],
  ['unpack, registry flags', ['unpack', '--image', 'docker://localhost:5000/x:1', 'b', '--creds', 'u:p', '--authfile', 'a.json', '--cache-dir', 'c', '--trust-realm', 'r1', '--platform', 'linux/arm64']],
  ['unpack, store and overlay', ['unpack', '--image', L, 'b', '--store', 'S', '--overlay']],
  ['unpack, value that looks like a number or an option name', ['unpack', '--image', '123', '--hostname', 'json', '42']],
  ['unpack, - as bundle', ['unpack', '--image', L, '-']],
  ['ls', ['ls', '--layout', L]],
  ['list --json', ['list', '--layout', L, '--json']],
  ['ls --layout= --json=false', ['ls', `--layout=${L}`, '--json=false']],
  ['tag', ['tag', '--image', `${L}:latest`, 'v2']],
  ['tag with a numeric-looking tag', ['tag', '--image', L, '1.0']],
  ['rm', ['rm', '--image', `${L}:old`]],
  ['remove', ['remove', '--image', `${L}:old`]],
  ['stat', ['stat', '--image', L, '--json']],
  ['gc', ['gc', '--layout', L]],
  ['validate', ['validate', '--image', L]],
  ['init', ['init', '--layout', L]],
  ['new', ['new', '--image', `${L}:t`]],
  ['mount', ['mount', 'b']],
  ['umount', ['umount', 'b']],
  ['raw unpack', ['raw', 'unpack', '--image', `${L}:latest`, 'rootfs']],
  ['raw unpack, store and maps', ['raw', 'unpack', '--rootless', '--store', 'S', '--uid-map', '0:1000:1', '--image', L, 'r']],
  ['raw runtime-config to stdout', ['raw', 'runtime-config', '--image', L, '-']],
  ['raw config (umoci\'s name)', ['raw', 'config', '--image', L, '--rootfs', 'r', 'config.json']],
  ['raw config, shaping flags', ['raw', 'config', '--image', L, '--tty', '--env', 'A=1', '-']],
  ['store ls', ['store', 'ls']],
  ['store du --json', ['store', 'du', '--json', '--store', 'S']],
  ['store gc', ['store', 'gc', '--store=S']],
  ['store verify LAYER', ['store', 'verify', 'sha256/abc']],
];

test('lines the lean parser accepts parse as yargs parses them', async (t) => {
  for (const [name, argv] of LEAN) {
    await t.test(name, async () => {
      const lean = await leanParse(argv);
      assert.ok(lean !== null, 'expected the lean path');
      assert.deepEqual(lean.args, await yargsArgs(argv));
    });
  }
});

const YARGS: [string, string[]][] = [
  ['no arguments', []],
  ['help', ['unpack', '--help']],
  ['-h', ['ls', '-h', '--layout', L]],
  ['--version after a command', ['ls', '--version']],
  ['missing value', ['ls', '--layout']],
  ['missing required option', ['ls']],
  ['missing positional', ['unpack', '--image', L]],
  ['extra positional', ['unpack', '--image', L, 'a', 'b']],
  ['unknown flag', ['unpack', '--image', L, 'b', '--bogus']],
  ['short flag', ['unpack', '-f', '--image', L, 'b']],
  ['repeated single flag', ['ls', '--layout', L, '--layout', 'M']],
  ['value that starts with -', ['unpack', '--image', '-x', 'b']],
  ['empty value', ['unpack', '--image', '', 'b']],
  ['bad boolean', ['unpack', '--image', L, 'b', '--mtree=maybe']],
  ['number option', ['copy', 'a', 'b', '--jobs', '3']],
  ['conflicting options', ['validate', '--layout', L, '--image', L]],
  ['raw alone', ['raw']],
  ['raw unpack --help', ['raw', 'unpack', '--help']],
  ['store alone', ['store']],
  ['unknown raw command', ['raw', 'unpak', '--image', L, 'r']],
  ['option before the subcommand', ['raw', '--image', L, 'unpack', 'r']],
  ['unknown store option', ['store', 'ls', '--bogus']],
  ['raw unpack missing rootfs', ['raw', 'unpack', '--image', L]],
  ['raw add-layer (dotted history options)', ['raw', 'add-layer', '--image', `${L}:t`, 'layer.tar']],
  ['optional positional left out', ['store', 'verify']],
  ['dotted options (history)', ['repack', '--image', L, 'b']],
  ['unknown command', ['lss', '--layout', L]],
  ['--', ['unpack', '--image', L, '--', 'b']],
];

test('lines the lean parser is not sure of are left to yargs', async (t) => {
  for (const [name, argv] of YARGS) {
    await t.test(name, async () => assert.equal(await leanParse(argv), null));
  }
});

test('the lean table names every command and alias of commands.ts', () => {
  const names = commands.flatMap((c) => [String(c.command).split(' ')[0]!, ...((c.aliases as string[] | undefined) ?? [])]);
  assert.deepEqual([...LEAN_COMMANDS].sort(), names.sort());
});
