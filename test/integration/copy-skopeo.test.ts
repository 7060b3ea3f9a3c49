// copy against skopeo 1.9, same source, same flags: the destinations must hold the same
// documents and blobs. Platforms: by default only the host's manifest (the tag then names that
// manifest), --all the whole index, --platform one (skopeo: --override-arch/--override-variant).
// dir: destinations hold the same files, byte for byte, and each tool reads the other's; dir:
// sources that lie or plant symlinks and FIFOs are refused with nothing left at DEST.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blobPath, gzip, makeTar, writeLayout } from '../../fixtures/layout.js';
import { isRoot, runCli, scratchDir } from '../helpers/cli.js';
import { diffTrees, listTree, unpackTimeDirs } from '../helpers/tree.js';
import { noSkopeo, skopeoCopy } from '../helpers/skopeo.js';

/** A layout with one tag `multi` on an index of linux/amd64 and linux/arm64/v8. */
async function multiLayout(dir: string) {
  const a = gzip(await makeTar([{ name: 'a.txt', data: 'amd64\n' }]));
  const b = gzip(await makeTar([{ name: 'b.txt', data: 'arm64\n' }]));
  const c = gzip(await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/docker', data: 'docker types\n' }]));
  return writeLayout(dir, {
    images: [{ tag: 'docker', docker: true, layers: [c, a] }, { tag: 'plain', layers: [b] }],
    indexes: [{ tag: 'multi', images: [{ platform: 'linux/amd64', layers: [a] }, { platform: 'linux/arm64/v8', layers: [b] }] }],
  });
}

/** Every regular file at the top of a directory (dir: is flat) with its content (base64). */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of readdirSync(dir).sort()) if (lstatSync(join(dir, n)).isFile()) out[n] = readFileSync(join(dir, n)).toString('base64');
  return out;
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

test('dir: destinations and sources as skopeo 1.9 writes and reads them', { skip: noSkopeo }, async (t) => {
  const dir = scratchDir('copy-skopeo-dir');
  try {
    const src = join(dir, 'src');
    const built = await multiLayout(src);
    // skopeo's oci: reads OCI media types only: the Docker-typed image is given as a dir: made by hand
    const dockerDir = join(dir, 'docker-dir');
    mkdirSync(dockerDir);
    writeFileSync(join(dockerDir, 'version'), 'Directory Transport Version: 1.1\n');
    const img = built.images[0]!;
    writeFileSync(join(dockerDir, 'manifest.json'), readFileSync(blobPath(src, img.manifest.digest)));
    for (const b of [img.config, ...img.layers]) writeFileSync(join(dockerDir, b.digest.slice(7)), readFileSync(blobPath(src, b.digest)));
    const cases: { name: string; src: string; flags: string[]; hostOnly?: boolean }[] = [
      { name: 'one OCI manifest', src: `oci:${src}:plain`, flags: [] },
      { name: 'Docker media types from a dir: (kept as they are)', src: `dir:${dockerDir}`, flags: [] },
      { name: 'an index, --all (instances as HEX.manifest.json)', src: `oci:${src}:multi`, flags: ['--all'] },
      { name: 'an index, the host platform', src: `oci:${src}:multi`, flags: [], hostOnly: true },
    ];
    for (const [i, c] of cases.entries()) {
      await t.test(c.name, { skip: c.hostOnly && !['x64', 'arm64'].includes(process.arch) && 'host platform not in the fixture' }, () => {
        const ours = join(dir, `ours-${i}`);
        const theirs = join(dir, `theirs-${i}`);
        const r = runCli(['copy', ...c.flags, c.src, `dir:${ours}`]);
        assert.equal(r.status, 0, r.stderr);
        skopeoCopy([...c.flags, c.src, `dir:${theirs}`]);
        assert.deepEqual(Object.keys(files(ours)), Object.keys(files(theirs)));
        assert.deepEqual(files(ours), files(theirs), 'the same bytes in every file');
        assert.equal(readFileSync(join(ours, 'version'), 'utf8'), 'Directory Transport Version: 1.1\n');
        // each reads the other's: copied on to dir: again, both give the same files
        // (an oci: copy would compare the two tools' Docker-to-OCI conversions, which differ in JSON layout)
        const a = join(dir, `read-ours-${i}`);
        const b = join(dir, `read-theirs-${i}`);
        skopeoCopy([...c.flags, `dir:${ours}`, `dir:${a}`]);
        const back = runCli(['copy', ...c.flags, `dir:${theirs}`, `dir:${b}`]);
        assert.equal(back.status, 0, back.stderr);
        assert.deepEqual(files(a), files(theirs));
        assert.deepEqual(files(b), files(ours));
      });
    }
    await t.test('a dir: image at DEST is replaced; an empty directory is taken', () => {
      const dest = join(dir, 'ours-0');
      const before = files(dest);
      const r = runCli(['copy', `oci:${src}:multi`, '--all', `dir:${dest}`]);
      assert.equal(r.status, 0, r.stderr);
      assert.notDeepEqual(files(dest), before);
      assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.ocibundle-')), [], 'no temp left beside it');
      const empty = join(dir, 'empty');
      mkdirSync(empty);
      assert.equal(runCli(['copy', `oci:${src}:plain`, `dir:${empty}`]).status, 0);
      assert.ok(existsSync(join(empty, 'manifest.json')));
    });
    await t.test('anything else at DEST is EEXIST and left as it was', () => {
      const other = join(dir, 'other');
      mkdirSync(other);
      writeFileSync(join(other, 'notes.txt'), 'mine');
      writeFileSync(join(other, 'version'), 'Directory Transport Version: 1.1\n');
      const file = join(dir, 'a-file');
      writeFileSync(file, 'canary');
      for (const dest of [other, file]) {
        const r = runCli(['copy', `oci:${src}:plain`, `dir:${dest}`]);
        assert.equal(r.status, 5, r.stderr);
        assert.match(r.stderr, /^ocibundle: EEXIST: .*\n$/);
      }
      assert.deepEqual(readdirSync(other).sort(), ['notes.txt', 'version']);
      assert.equal(readFileSync(file, 'utf8'), 'canary');
    });
    await t.test('hostile dir: sources: one line, a documented code, nothing at DEST', () => {
      const good = join(dir, 'theirs-0');
      const m = JSON.parse(readFileSync(join(good, 'manifest.json'), 'utf8')) as { layers: { digest: string }[]; config: { digest: string } };
      const layerHex = m.layers[0]!.digest.slice(7);
      const variant = (name: string, change: (d: string) => void): string => {
        const d = join(dir, `hostile-${name}`);
        execFileSync('cp', ['-a', good, d]);
        change(d);
        return d;
      };
      const canary = join(dir, 'canary');
      writeFileSync(canary, 'canary');
      const cases: { name: string; dir: string; code: string; status: number }[] = [
        { name: 'a layer with other bytes', dir: variant('bytes', (d) => corruptFile(join(d, layerHex))), code: 'EDIGEST', status: 4 },
        { name: 'a layer cut short', dir: variant('short', (d) => writeFileSync(join(d, layerHex), readFileSync(join(d, layerHex)).subarray(0, 10))), code: 'ESIZE', status: 4 },
        { name: 'a symlinked layer', dir: variant('link', (d) => (unlinkSync(join(d, layerHex)), symlinkSync(canary, join(d, layerHex)))), code: 'EBLOBTYPE', status: 4 },
        { name: 'a FIFO as a layer (never waited on)', dir: variant('fifo', (d) => (unlinkSync(join(d, layerHex)), execFileSync('mkfifo', [join(d, layerHex)]))), code: 'EBLOBTYPE', status: 4 },
        { name: 'a missing config', dir: variant('noconfig', (d) => unlinkSync(join(d, m.config.digest.slice(7)))), code: 'ENOBLOB', status: 3 },
        { name: 'another version', dir: variant('version', (d) => writeFileSync(join(d, 'version'), 'Directory Transport Version: 9.0\n')), code: 'EBADLAYOUT', status: 4 },
        { name: 'no version file', dir: variant('noversion', (d) => unlinkSync(join(d, 'version'))), code: 'ENOLAYOUT', status: 3 },
        { name: 'manifest.json not json', dir: variant('json', (d) => writeFileSync(join(d, 'manifest.json'), '{"schemaVersion":')), code: 'ESCHEMA', status: 4 },
      ];
      for (const c of cases) {
        for (const dest of [`oci:${join(dir, `out-${c.name.length}`)}:x`, `dir:${join(dir, `dout-${c.name.length}`)}`]) {
          const r = runCli(['copy', `dir:${c.dir}`, dest], { timeout: 20_000 });
          assert.equal(r.status, c.status, `${c.name} -> ${dest}: ${r.stderr}`);
          assert.match(r.stderr, new RegExp(`^ocibundle: ${c.code}: [^\n]*\n$`), c.name);
          assert.equal(existsSync(dest.replace(/^(oci|dir):/, '').replace(/:x$/, '')), false, `${c.name}: nothing at ${dest}`);
        }
      }
      assert.equal(readFileSync(canary, 'utf8'), 'canary');
      assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.ocibundle-')), [], 'no temp left');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function corruptFile(p: string): void {
  const b = readFileSync(p);
  b[b.length >> 1] = b[b.length >> 1]! ^ 0xff;
  writeFileSync(p, b);
}

/** The members of a tar (names -> content, base64), listed by tar itself. */
function tarFiles(file: string, into: string): Record<string, string> {
  mkdirSync(into);
  execFileSync('tar', ['xf', file, '-C', into]);
  return files(into);
}

test('docker-archive: destinations as skopeo 1.9 writes them (docker save format)', { skip: noSkopeo }, async (t) => {
  const dir = scratchDir('copy-skopeo-docker-archive');
  try {
    const src = join(dir, 'src');
    await multiLayout(src);
    const cases: { name: string; src: string; tag: string; flags: string[] }[] = [
      { name: 'gzip layers, with REPO:TAG', src: `oci:${src}:plain`, tag: ':busybox:v1', flags: [] },
      { name: 'two layers, a registry repo', src: `dir:${join(dir, 'ours-dir')}`, tag: ':127.0.0.1:5000/team/app:2', flags: [] },
      { name: 'without REPO:TAG', src: `oci:${src}:plain`, tag: '', flags: [] },
      { name: 'the host platform of an index', src: `oci:${src}:multi`, tag: ':multi:x', flags: [] },
    ];
    const made = runCli(['copy', `oci:${src}:multi`, '--platform', 'linux/amd64', `dir:${join(dir, 'ours-dir')}`]);
    assert.equal(made.status, 0, made.stderr);
    for (const [i, c] of cases.entries()) {
      await t.test(c.name, () => {
        const ours = join(dir, `ours-${i}.tar`);
        const theirs = join(dir, `theirs-${i}.tar`);
        const r = runCli(['copy', ...c.flags, c.src, `docker-archive:${ours}${c.tag}`]);
        assert.equal(r.status, 0, r.stderr);
        skopeoCopy([...c.flags, c.src, `docker-archive:${theirs}${c.tag}`]);
        const a = tarFiles(ours, join(dir, `ours-x-${i}`));
        const b = tarFiles(theirs, join(dir, `theirs-x-${i}`));
        // skopeo also writes docker's legacy members (repositories, one directory per layer); docker load does not need them
        const legacy = (n: string) => n === 'repositories' || /^[0-9a-f]{64}$/.test(n);
        const theirsNew = Object.fromEntries(Object.entries(b).filter(([n]) => !legacy(n)));
        if (c.tag === '') {
          // skopeo writes "RepoTags": null, ocibundle []: both mean no tag
          const ma = JSON.parse(Buffer.from(a['manifest.json']!, 'base64').toString()) as { RepoTags: unknown }[];
          const mb = JSON.parse(Buffer.from(theirsNew['manifest.json']!, 'base64').toString()) as { RepoTags: unknown }[];
          assert.deepEqual(ma[0]!.RepoTags ?? [], mb[0]!.RepoTags ?? []);
          delete a['manifest.json'];
          delete theirsNew['manifest.json'];
        }
        assert.deepEqual(a, theirsNew, 'the same members, byte for byte');
        // read back by skopeo and by ocibundle: the same image
        const back1 = join(dir, `back-skopeo-${i}`);
        const back2 = join(dir, `back-ours-${i}`);
        skopeoCopy([`docker-archive:${ours}`, `dir:${back1}`]);
        skopeoCopy([`docker-archive:${theirs}`, `dir:${back2}`]);
        assert.deepEqual(files(back1), files(back2));
        const o = runCli(['copy', `docker-archive:${ours}`, `oci:${join(dir, `read-${i}`)}:x`]);
        assert.equal(o.status, 0, o.stderr);
        if (isRoot()) {
          // and it unpacks to the same tree as the source image
          const want = join(dir, `tree-src-${i}`);
          const got = join(dir, `tree-archive-${i}`);
          assert.equal(runCli(['raw', 'unpack', '--image', c.src, want]).status, 0);
          const u = runCli(['raw', 'unpack', '--image', `docker-archive:${ours}`, got]);
          assert.equal(u.status, 0, u.stderr);
          const w = listTree(want, { xattrs: false });
          assert.deepEqual(diffTrees(w, listTree(got, { xattrs: false }), unpackTimeDirs(w)), []);
        }
      });
    }
    await t.test('an index with --all is EUSAGE; compression is EUSAGE; nothing written', () => {
      for (const args of [['--all', `oci:${src}:multi`], ['--dest-compress', 'zstd', `oci:${src}:plain`]]) {
        const out = join(dir, 'never.tar');
        const r = runCli(['copy', ...args, `docker-archive:${out}`]);
        assert.equal(r.status, 2, r.stderr);
        assert.equal(existsSync(out), false);
      }
      assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.ocibundle-')), []);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
