// A multi-platform index through the CLI: --platform picks the image, the default is this
// host, and a missing platform is a clear error listing the available ones (exit 3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzip, makeTar } from '../../fixtures/tar.js';
import { writeLayout } from '../../fixtures/layout.js';
import { runCli, scratchDir } from '../helpers/cli.js';

const HOST_ARCH = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;

test('multi-platform index', async (t) => {
  const dir = scratchDir('platform');
  try {
    const layout = join(dir, 'layout');
    const image = (platform: string) => ({ platform, layers: [gzip(makeTar([{ name: 'arch', content: platform }]))] });
    writeLayout(layout, { indexes: [{ tag: 'multi', images: [image('linux/amd64'), image('linux/arm64/v8'), image('linux/riscv64')] }] });
    const cases: [string, string[], string][] = [
      ['--platform linux/arm64/v8', ['--platform', 'linux/arm64/v8'], 'linux/arm64/v8'],
      ['--platform linux/riscv64', ['--platform', 'linux/riscv64'], 'linux/riscv64'],
      ['default: this host', [], HOST_ARCH === 'arm64' ? 'linux/arm64/v8' : `linux/${HOST_ARCH}`],
    ];
    for (const [name, flags, want] of cases) {
      await t.test(name, { skip: name.startsWith('default') && !['amd64', 'arm64', 'riscv64'].includes(HOST_ARCH) ? 'host architecture not in the fixture' : false }, () => {
        const out = join(dir, name.replace(/\W+/g, '-'));
        const r = runCli(['raw', 'unpack', ...flags, '--image', `${layout}:multi`, out]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(readFileSync(join(out, 'arch'), 'utf8'), want);
      });
    }
    await t.test('a missing platform: exit 3, the available ones listed, nothing written', () => {
      const out = join(dir, 'none');
      const r = runCli(['unpack', '--platform', 'linux/s390x', '--image', `${layout}:multi`, out]);
      assert.equal(r.status, 3);
      assert.match(r.stderr, /^ocibundle: ENOPLATFORM: .*linux\/amd64.*linux\/arm64\/v8.*linux\/riscv64/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.ok(!existsSync(out));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a single-platform image and a --platform it does not match: used, with one WPLATFORM', async (t) => {
  const dir = scratchDir('platform-one');
  try {
    const layout = join(dir, 'layout');
    writeLayout(layout, { images: [{ tag: 'latest', platform: 'linux/amd64', layers: [gzip(makeTar([{ name: 'f', content: 'x' }]))] }] });
    const warning = /^ocibundle: warning: WPLATFORM: .*the image config says linux\/amd64, not the linux\/arm64\/v8 asked for/m;
    const cases: [string, string[], (stdout: string) => void][] = [
      ['unpack', ['unpack'], () => undefined],
      ['raw runtime-config', ['raw', 'runtime-config'], () => undefined],
      ['stat', ['stat'], (out) => assert.match(out, /Architecture: amd64/)],
    ];
    for (const [name, cmd, check] of cases) {
      await t.test(name, () => {
        const target = cmd[0] === 'stat' ? [] : [join(dir, name.replace(/\W+/g, '-'))];
        const r = runCli([...cmd, '--platform', 'linux/arm64', '--image', `${layout}:latest`, ...target]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, warning);
        assert.equal(r.stderr.match(/WPLATFORM/g)?.length, 1);
        check(r.stdout);
        const quiet = runCli([...cmd, '--platform', 'linux/amd64', '--image', `${layout}:latest`, ...target.map((p) => `${p}-2`)]);
        assert.equal(quiet.status, 0, quiet.stderr);
        assert.doesNotMatch(quiet.stderr, /WPLATFORM/);
      });
    }
    await t.test('stat --json: the warning is part of the result', () => {
      const r = runCli(['stat', '--json', '--platform', 'linux/arm64', '--image', `${layout}:latest`]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      const out = JSON.parse(r.stdout) as { warnings?: { code: string }[]; config?: unknown };
      assert.deepEqual(out.warnings?.map((w) => w.code), ['WPLATFORM']);
      assert.ok(out.config);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
