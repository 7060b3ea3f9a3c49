// copy against skopeo 1.9, same source, same flags: the destinations must hold the same
// documents and blobs. Platforms: by default only the host's manifest (the tag then names that
// manifest), --all the whole index, --platform one (skopeo: --override-arch/--override-variant).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzip, makeTar, writeLayout } from '../../fixtures/layout.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { noSkopeo, skopeoCopy } from '../helpers/skopeo.js';

/** A layout with one tag `multi` on an index of linux/amd64 and linux/arm64/v8. */
async function multiLayout(dir: string) {
  const a = gzip(await makeTar([{ name: 'a.txt', data: 'amd64\n' }]));
  const b = gzip(await makeTar([{ name: 'b.txt', data: 'arm64\n' }]));
  return writeLayout(dir, { indexes: [{ tag: 'multi', images: [{ platform: 'linux/amd64', layers: [a] }, { platform: 'linux/arm64/v8', layers: [b] }] }] });
}

/** index.json (parsed) and the sorted blob names of a layout. */
function layoutState(dir: string): { index: unknown; blobs: string[] } {
  return { index: JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')), blobs: readdirSync(join(dir, 'blobs', 'sha256')).sort() };
}

test('copy platforms as skopeo 1.9 copies them', { skip: noSkopeo }, async (t) => {
  const dir = scratchDir('copy-skopeo-platforms');
  try {
    const src = join(dir, 'src');
    await multiLayout(src);
    const cases: { name: string; ours: string[]; theirs: string[]; hostOnly?: boolean }[] = [
      { name: 'default: the host platform only', ours: [], theirs: [], hostOnly: true },
      { name: '--all: the whole index', ours: ['--all'], theirs: ['--all'] },
      { name: '--platform linux/arm64/v8', ours: ['--platform', 'linux/arm64/v8'], theirs: ['--override-os', 'linux', '--override-arch', 'arm64', '--override-variant', 'v8'] },
      { name: '--platform linux/amd64', ours: ['--platform', 'linux/amd64'], theirs: ['--override-os', 'linux', '--override-arch', 'amd64'] },
    ];
    for (const c of cases) {
      await t.test(c.name, { skip: c.hostOnly && !['x64', 'arm64'].includes(process.arch) && 'host platform not in the fixture' }, () => {
        const ours = join(dir, `ours-${cases.indexOf(c)}`);
        const theirs = join(dir, `theirs-${cases.indexOf(c)}`);
        const r = runCli(['copy', ...c.ours, `oci:${src}:multi`, `oci:${ours}:t`]);
        assert.equal(r.status, 0, r.stderr);
        skopeoCopy([...c.theirs, `oci:${src}:multi`, `oci:${theirs}:t`]);
        const a = layoutState(ours);
        const b = layoutState(theirs);
        assert.deepEqual(a.index, b.index);
        assert.deepEqual(a.blobs, b.blobs);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
