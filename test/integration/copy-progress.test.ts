// `ocibundle copy` progress and --jobs through the CLI: a bar on stderr when it is a terminal
// (run under `script` for a pty), nothing on a pipe, a line per blob with --verbose, a bar
// ended before an error message, and --jobs checked as a usage error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { corruptBlob, gzip, makeTar, readIndexJson, writeLayout } from '../../fixtures/layout.js';
import { BIN, hasCommand, runCli, scratchDir } from '../helpers/cli.js';

/** Runs the CLI with stderr on a pty; returns the terminal's output (stdout and stderr mixed). */
function underPty(args: string[]): { status: number | null; out: string } {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout };
}

const noScript = hasCommand('script') ? false : 'needs script(1) for a pty';

test('copy progress and --jobs', async (t) => {
  const dir = scratchDir('copy-progress');
  try {
    const layers = await Promise.all([0, 1].map(async (i) => gzip(await makeTar([{ name: `f${i}`, data: 'x'.repeat(5000) }]))));
    const src = join(dir, 'src');
    const built = writeLayout(src, { images: [{ tag: 'latest', layers }] });
    const bad = join(dir, 'bad');
    writeLayout(bad, { images: [{ tag: 'latest', layers }] });
    corruptBlob(bad, built.images[0]!.layers[1]!.digest);
    let n = 0;
    const fresh = () => join(dir, `d${++n}`);

    const quiet: [string, string[]][] = [
      ['silent on a pipe', []],
      ['silent on a pipe with --jobs 1', ['--jobs', '1']],
    ];
    for (const [name, extra] of quiet) {
      await t.test(name, () => {
        const dest = fresh();
        const r = runCli(['copy', ...extra, src, `${dest}:t`]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stderr, '');
        assert.equal(r.stdout, '');
        assert.equal(readIndexJson(dest).manifests.length, 1);
      });
    }

    await t.test('--verbose on a pipe: one line per blob, then the summary', () => {
      const r = runCli(['copy', '--verbose', src, fresh()]);
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 4, r.stderr);
      lines.slice(0, 3).forEach((l, i) => assert.match(l, new RegExp(`^ocibundle: blob ${i + 1}/3 sha256:[0-9a-f]{64} \\([0-9.]+/[0-9.]+ [KM]iB\\)$`)));
      assert.match(lines[3]!, /^ocibundle: copied sha256:[0-9a-f]{64} as tag latest: 4 blob\(s\) written, 0 already present$/);
      assert.doesNotMatch(r.stderr, /\r/);
    });

    await t.test('a bar on a terminal, ending in a newline', { skip: noScript }, () => {
      const r = underPty(['copy', src, fresh()]);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /\rblob 3\/3 \[#{30}\] [0-9.]+\/[0-9.]+ [KM]iB\r?\n/);
      assert.doesNotMatch(r.out, /ocibundle:/, 'no other message without --verbose');
    });

    await t.test('on a terminal a failure ends the bar before the error line; no tag', { skip: noScript }, () => {
      const dest = fresh();
      const r = underPty(['copy', '--jobs', '1', bad, dest]);
      assert.notEqual(r.status, 0, r.out);
      assert.match(r.out, /(^|\n)ocibundle: .*does not match its digest/);
      assert.doesNotMatch(r.out, /iB ?ocibundle:/, 'error printed on the bar line');
      assert.equal(existsSync(dest), false, 'no tag, and the layout this copy created is gone');
    });

    const badJobs: [string, string][] = [
      ['--jobs 0', '0'],
      ['--jobs 65', '65'],
      ['--jobs x', 'x'],
    ];
    for (const [name, value] of badJobs) {
      await t.test(`${name} is a usage error`, () => {
        const r = runCli(['copy', '--jobs', value, src, fresh()]);
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /jobs/);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
