// copy --dest-compress gzip|zstd and --dest-decompress: layers in another compression are
// recompressed while copying (new digests, sizes and media types in a new OCI manifest; config
// and diff_ids unchanged; layers already in the format kept byte for byte); the copy unpacks to
// the same tree as the source, skopeo 1.9 reads it and, into dir:, writes the same files
// (--dest-decompress) or the same tars (compression); a layer that does not uncompress to its
// diff_id is EDIFFID with nothing left at DEST. Needs root (raw unpack keeps owners) and zstd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { blobPath, gzip, makeTar, writeLayout } from '../../fixtures/layout.js';
import { writeRichImage } from '../../fixtures/images.js';
import { hasCommand, isRoot, runCli, scratchDir } from '../helpers/cli.js';
import { diffTrees, listTree, unpackTimeDirs } from '../helpers/tree.js';
import { haveSkopeo, skopeoCopy } from '../helpers/skopeo.js';

const skip = !isRoot() ? 'needs root (raw unpack keeps owners)' : !hasCommand('zstd') ? 'zstd is not installed (apt-get install zstd)' : false;
const MT = { gzip: 'application/vnd.oci.image.layer.v1.tar+gzip', zstd: 'application/vnd.oci.image.layer.v1.tar+zstd', none: 'application/vnd.oci.image.layer.v1.tar' };

interface Doc {
  mediaType?: string;
  config: { digest: string; mediaType: string };
  layers: { digest: string; size: number; mediaType: string }[];
}

const json = <T>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The manifest a layout's only tag names. */
function manifestOf(layout: string): Doc {
  const idx = json<{ manifests: { digest: string }[] }>(join(layout, 'index.json'));
  return json<Doc>(blobPath(layout, idx.manifests[0]!.digest));
}

/** The uncompressed tar of a layer blob file. */
function untarFile(path: string, mediaType: string): Buffer {
  const b = readFileSync(path);
  if (mediaType.endsWith('+gzip')) return gunzipSync(b);
  if (mediaType.endsWith('+zstd')) return spawnSync('zstd', ['-d', '-q', '-c'], { input: b, maxBuffer: 1 << 30 }).stdout;
  return b;
}

const untar = (layout: string, l: { digest: string; mediaType: string }): Buffer => untarFile(blobPath(layout, l.digest), l.mediaType);

test('copy --dest-compress / --dest-decompress', { skip }, async (t) => {
  const dir = scratchDir('copy-compress');
  try {
    const src = join(dir, 'src');
    writeRichImage(src, 'mixed', ['gzip', 'zstd', 'none']);
    const srcManifest = manifestOf(src);
    const ref = join(dir, 'ref');
    const r0 = runCli(['raw', 'unpack', '--image', `${src}:mixed`, ref]);
    assert.equal(r0.status, 0, r0.stderr);
    const want = listTree(ref, { xattrs: false });
    const cases: { name: string; flags: string[]; format: 'gzip' | 'zstd' | 'none' }[] = [
      { name: '--dest-compress zstd', flags: ['--dest-compress', 'zstd'], format: 'zstd' },
      { name: '--dest-compress gzip', flags: ['--dest-compress', 'gzip'], format: 'gzip' },
      { name: '--dest-compress-format gzip (skopeo spelling)', flags: ['--dest-compress-format', 'gzip'], format: 'gzip' },
      { name: '--dest-decompress', flags: ['--dest-decompress'], format: 'none' },
    ];
    for (const [i, c] of cases.entries()) {
      await t.test(c.name, () => {
        const out = join(dir, `out-${i}`);
        const r = runCli(['copy', ...c.flags, `${src}:mixed`, `${out}:x`]);
        assert.equal(r.status, 0, r.stderr);
        const m = manifestOf(out);
        assert.equal(m.config.digest, srcManifest.config.digest, 'config (and so diff_ids) unchanged');
        const cfg = json<{ rootfs: { diff_ids: string[] } }>(blobPath(out, m.config.digest));
        for (const [k, l] of m.layers.entries()) {
          assert.equal(l.mediaType, MT[c.format], `layer ${k} media type`);
          assert.equal(sha(untar(out, l)), cfg.rootfs.diff_ids[k], `layer ${k} uncompresses to its diff_id`);
          assert.equal(readFileSync(blobPath(out, l.digest)).length, l.size, `layer ${k} size`);
          const old = srcManifest.layers[k]!;
          if (old.mediaType === MT[c.format]) assert.equal(l.digest, old.digest, `layer ${k} already ${c.format}: kept`);
          else assert.notEqual(l.digest, old.digest, `layer ${k} recompressed`);
        }
        const tree = join(dir, `tree-${i}`);
        const u = runCli(['raw', 'unpack', '--image', `${out}:x`, tree]);
        assert.equal(u.status, 0, u.stderr);
        assert.deepEqual(diffTrees(want, listTree(tree, { xattrs: false }), unpackTimeDirs(want)), []);
        rmSync(tree, { recursive: true, force: true });
        if (haveSkopeo) skopeoCopy([`oci:${out}:x`, `dir:${join(dir, `skopeo-${i}`)}`]); // skopeo verifies every digest
        assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.ocibundle-')), [], 'no work directory left');
      });
    }
    await t.test('into dir: as well', () => {
      const out = join(dir, 'as-dir');
      const r = runCli(['copy', '--dest-compress', 'zstd', `${src}:mixed`, `dir:${out}`]);
      assert.equal(r.status, 0, r.stderr);
      const m = json<Doc>(join(out, 'manifest.json'));
      assert.deepEqual(m.layers.map((l) => l.mediaType), [MT.zstd, MT.zstd, MT.zstd]);
      for (const l of m.layers) assert.ok(existsSync(join(out, l.digest.slice(7))));
    });
    await t.test('against skopeo into dir: (--dest-decompress: the same files; compression: the same layers uncompressed)', { skip: !haveSkopeo && 'skopeo is not installed' }, () => {
      const forms: { flags: string[]; sameBytes: boolean }[] = [
        { flags: ['--dest-decompress'], sameBytes: true },
        { flags: ['--dest-compress-format', 'zstd'], sameBytes: false },
        { flags: ['--dest-compress-format', 'gzip'], sameBytes: false },
      ];
      for (const [i, f] of forms.entries()) {
        const ours = join(dir, `vs-ours-${i}`);
        const theirs = join(dir, `vs-theirs-${i}`);
        const r = runCli(['copy', ...f.flags, `${src}:mixed`, `dir:${ours}`]);
        assert.equal(r.status, 0, r.stderr);
        // skopeo wants --dest-compress beside the format
        skopeoCopy([...(f.flags[0] === '--dest-compress-format' ? ['--dest-compress'] : []), ...f.flags, `oci:${src}:mixed`, `dir:${theirs}`]);
        const a = json<Doc>(join(ours, 'manifest.json'));
        const b = json<Doc>(join(theirs, 'manifest.json'));
        if (f.sameBytes) {
          for (const n of readdirSync(theirs)) assert.deepEqual(readFileSync(join(ours, n)), readFileSync(join(theirs, n)), `${f.flags.join(' ')}: ${n}`);
          assert.deepEqual(readdirSync(ours).sort(), readdirSync(theirs).sort());
          continue;
        }
        assert.equal(a.config.digest, b.config.digest, 'same config');
        assert.deepEqual(a.layers.map((l) => l.mediaType), b.layers.map((l) => l.mediaType), 'same media types');
        const tars = (d: string, m: Doc) => m.layers.map((l) => sha(untarFile(join(d, l.digest.slice(7)), l.mediaType)));
        assert.deepEqual(tars(ours, a), tars(theirs, b), 'the same tars inside');
      }
    });
    await t.test('a layer that does not uncompress to its diff_id: EDIFFID, nothing at DEST', async () => {
      const lying = join(dir, 'lying');
      const layer = gzip(await makeTar([{ name: 'f', data: 'real\n' }]));
      writeLayout(lying, { images: [{ tag: 'x', layers: [layer], diffIds: [sha(Buffer.from('another tar'))] }] });
      const out = join(dir, 'lying-out');
      // the failed recompression removes its work directory recursively: its neighbours stay
      const canary = join(dir, 'canary');
      writeFileSync(canary, 'keep\n');
      const sourceBefore = listTree(lying);
      const r = runCli(['copy', '--dest-compress', 'zstd', `${lying}:x`, `${out}:x`]);
      assert.equal(r.status, 4, r.stderr);
      assert.match(r.stderr, /^ocibundle: EDIFFID: [^\n]*\n$/);
      assert.equal(existsSync(out), false);
      assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.ocibundle-')), [], 'no work directory left');
      assert.equal(readFileSync(canary, 'utf8'), 'keep\n', 'the canary beside DEST is untouched');
      assert.deepEqual(listTree(lying), sourceBefore, 'the source layout beside the work directory is untouched');
    });
    await t.test('bad flags are EUSAGE', () => {
      for (const flags of [['--dest-compress', 'lz4'], ['--dest-compress', 'gzip', '--dest-decompress']]) {
        const r = runCli(['copy', ...flags, `${src}:mixed`, join(dir, 'never')]);
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /^ocibundle: EUSAGE: /);
      }
      assert.equal(existsSync(join(dir, 'never')), false);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
