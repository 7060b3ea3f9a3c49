// The timed commands: shell quoting (checked by running bash), the unpack cases chosen by the
// layers' compression, the ls/tag/rm cases, and the many-tag index of the layout cases.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { compressionOf, floorIds, imageKind, layoutCases, shq, startupCases, unpackCases, type LayerFile } from '../../bench/cases.js';
import { blobPath, manyTagIndex, manyTagNames } from '../../bench/layout-files.js';

describe('shq', () => {
  const strings = ['plain', '/a b/c', "it's", '$(rm -rf /)', '`x`', 'a"b', 'tab\there', '*', '', 'L:latest', 'ünï'];
  for (const s of strings) {
    test(`round-trips ${JSON.stringify(s)} through bash`, () => {
      const out = execFileSync('bash', ['-c', `printf %s ${shq(s)}`], { encoding: 'utf8' });
      assert.equal(out, s);
    });
  }
});

describe('compression and kind', () => {
  const media: { name: string; mediaType: string; want: string | null }[] = [
    { name: 'oci gzip', mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', want: 'gzip' },
    { name: 'oci zstd', mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', want: 'zstd' },
    { name: 'oci plain', mediaType: 'application/vnd.oci.image.layer.v1.tar', want: 'none' },
    { name: 'docker gzip', mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', want: 'gzip' },
    { name: 'non-distributable gzip', mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', want: 'gzip' },
    { name: 'unknown', mediaType: 'application/octet-stream', want: null },
  ];
  for (const c of media) test(c.name, () => assert.equal(compressionOf(c.mediaType), c.want));

  const L = (compression: LayerFile['compression']): LayerFile => ({ path: '/x', compression });
  const kinds: { name: string; layers: LayerFile[]; want: string }[] = [
    { name: 'all gzip', layers: [L('gzip'), L('gzip')], want: 'gzip' },
    { name: 'all zstd', layers: [L('zstd')], want: 'zstd' },
    { name: 'gzip and plain', layers: [L('gzip'), L('none')], want: 'gzip' },
    { name: 'gzip and zstd', layers: [L('gzip'), L('zstd'), L('none')], want: 'mixed' },
    { name: 'no layers', layers: [], want: 'gzip' },
  ];
  for (const c of kinds) test(`kind: ${c.name}`, () => assert.equal(imageKind(c.layers), c.want));
});

describe('unpackCases', () => {
  const ctx = { layout: '/fs/layouts/deb ian', tag: 'latest', out: '/fs/out', ocibundle: '/repo/bin/ocibundle' };
  test('gzip image: the six cases, umoci failures are failures', () => {
    const cs = unpackCases({ ...ctx, layers: [{ path: '/b/1', compression: 'gzip' }, { path: '/b/2', compression: 'gzip' }] });
    assert.deepEqual(cs.map((c) => c.id), ['ocibundle', 'ocibundle-no-mtree', 'ocibundle-raw', 'umoci', 'umoci-raw', 'tar-xzf', 'gzip-dc']);
    for (const c of cs) {
      assert.equal(c.floorId, 'tar-xzf');
      assert.equal(c.umociId, 'umoci');
      assert.equal(c.failureMeans, undefined);
    }
    const by = Object.fromEntries(cs.map((c) => [c.id, c.script]));
    assert.equal(by['ocibundle'], "exec /repo/bin/ocibundle unpack --image '/fs/layouts/deb ian:latest' /fs/out");
    assert.match(by['ocibundle-raw'] ?? '', /raw unpack --image '\/fs\/layouts\/deb ian:latest' \/fs\/out\/rootfs$/);
    assert.match(by['tar-xzf'] ?? '', /tar -xzf \/b\/1 -C \/fs\/out\/rootfs \|\| exit 1; tar -xzf \/b\/2 -C \/fs\/out\/rootfs \|\| exit 1/);
    assert.match(by['gzip-dc'] ?? '', /gzip -dc \/b\/1 > \/dev\/null \|\| exit 1; gzip -dc \/b\/2/);
  });
  test('zstd image: zstd floors, umoci failure means unsupported', () => {
    const cs = unpackCases({ ...ctx, layers: [{ path: '/b/1', compression: 'zstd' }] });
    assert.deepEqual(cs.map((c) => c.id), ['ocibundle', 'ocibundle-no-mtree', 'ocibundle-raw', 'umoci', 'umoci-raw', 'zstd+tar', 'zstd-dc']);
    assert.equal(cs.find((c) => c.id === 'umoci')?.failureMeans, 'unsupported');
    assert.match(cs.find((c) => c.id === 'zstd+tar')?.script ?? '', /pipefail.*zstd -dcq \/b\/1 \| tar -x -C \/fs\/out\/rootfs/);
    assert.deepEqual(floorIds('zstd'), { floor: 'zstd+tar', decompress: 'zstd-dc' });
  });
  test('mixed image: each layer by its own compression', () => {
    const cs = unpackCases({ ...ctx, layers: [{ path: '/b/1', compression: 'gzip' }, { path: '/b/2', compression: 'zstd' }, { path: '/b/3', compression: 'none' }] });
    const floor = cs.find((c) => c.id === 'tar-x')?.script ?? '';
    assert.match(floor, /tar -xzf \/b\/1 .*zstd -dcq \/b\/2 \| tar -x .*tar -xf \/b\/3 /);
    assert.match(cs.find((c) => c.id === 'decompress')?.script ?? '', /cat \/b\/3 > \/dev\/null/);
  });
  test('staged layers add the write-only and sha256 floors and the physical-limit ratio', () => {
    const cs = unpackCases({ ...ctx, layers: [{ path: '/b/1', compression: 'gzip' }], staged: ['/shm/0.tar'] });
    assert.deepEqual(cs.slice(-2).map((c) => c.id), ['write-only', 'sha256']);
    assert.match(cs.at(-2)!.script, /tar -xf \/shm\/0\.tar -C \/fs\/out\/rootfs/);
    assert.match(cs.at(-1)!.script, /sha256sum \/b\/1 \/shm\/0\.tar/);
    for (const c of cs) assert.deepEqual(c.physIds, { write: 'write-only', decompress: 'gzip-dc' });
  });
  test('a failing layer fails the floor case (run through bash)', () => {
    const [floor] = unpackCases({ ...ctx, layers: [{ path: '/nonexistent/ocibundle-bench-layer', compression: 'gzip' }] }).filter((c) => c.id === 'gzip-dc');
    assert.ok(floor);
    let rc = 0;
    try {
      execFileSync('bash', ['-c', floor.script], { stdio: 'ignore' });
    } catch (e) {
      rc = (e as { status?: number }).status ?? -1;
    }
    assert.notEqual(rc, 0);
  });
});

describe('startupCases', () => {
  const ctx = { ocibundle: '/repo/bin/ocibundle', layout: '/fs/busybox' };
  const table: { name: string; extraCaCerts?: string; ids: string[] }[] = [
    { name: 'no CA variable: the bare floor only', ids: ['node-e0', 'ocibundle-version', 'ocibundle-ls', 'umoci-ls'] },
    { name: 'CA variable set: node with it is timed too', extraCaCerts: '/etc/ssl/x.pem', ids: ['node-e0', 'node-e0-ca', 'ocibundle-version', 'ocibundle-ls', 'umoci-ls'] },
  ];
  for (const row of table) {
    test(row.name, () => {
      const cs = startupCases({ ...ctx, extraCaCerts: row.extraCaCerts });
      assert.deepEqual(cs.map((c) => c.id), row.ids);
      for (const c of cs) assert.equal(c.floorId, 'node-e0');
    });
  }
  test('the floor runs node without NODE_EXTRA_CA_CERTS, the informational row with it', () => {
    const cs = startupCases({ ...ctx, extraCaCerts: '/nonexistent/ca.pem' });
    const probe = (id: string) => {
      const script = cs.find((c) => c.id === id)!.script.replace('node -e 0', 'node -e "process.stdout.write(String(process.env.NODE_EXTRA_CA_CERTS))"');
      return execFileSync('sh', ['-c', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    };
    assert.equal(probe('node-e0'), 'undefined');
    assert.equal(probe('node-e0-ca'), '/nonexistent/ca.pem');
  });
});

describe('layoutCases', () => {
  const cs = layoutCases({ layout: '/fs/L', ocibundle: '/repo/bin/ocibundle', rmTag: 'v1.05000', newTag: 'bench-new-tag' });
  test('ocibundle and umoci for ls, tag and rm, each compared with umoci', () => {
    assert.deepEqual(cs.map((c) => c.id), ['ocibundle-ls', 'umoci-ls', 'ocibundle-tag', 'umoci-tag', 'ocibundle-rm', 'umoci-rm']);
    for (const c of cs) assert.equal(c.umociId, `umoci-${c.id.split('-')[1]}`);
  });
  const want: Record<string, string> = {
    'ocibundle-ls': 'exec /repo/bin/ocibundle ls --layout /fs/L',
    'umoci-tag': 'exec umoci tag --image /fs/L:latest bench-new-tag',
    'ocibundle-rm': 'exec /repo/bin/ocibundle rm --image /fs/L:v1.05000',
  };
  for (const [id, script] of Object.entries(want)) test(`${id} script`, () => assert.equal(cs.find((c) => c.id === id)?.script, script));
});

describe('many-tag index', () => {
  test('names: latest first, all distinct, fixed width', () => {
    const names = manyTagNames(10000);
    assert.equal(names.length, 10000);
    assert.equal(names[0], 'latest');
    assert.equal(names[1], 'v1.00001');
    assert.equal(names[9999], 'v1.09999');
    assert.equal(new Set(names).size, 10000);
  });
  test('one tag is just latest', () => assert.deepEqual(manyTagNames(1), ['latest']));
  test('every entry points at the manifest, with its own ref.name only', () => {
    const m = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 42, annotations: { 'org.opencontainers.image.ref.name': 'latest', other: 'x' } };
    const idx = manyTagIndex(m, ['latest', 'v1']);
    assert.equal(idx.schemaVersion, 2);
    assert.deepEqual(idx.manifests[1], { mediaType: m.mediaType, digest: m.digest, size: 42, annotations: { 'org.opencontainers.image.ref.name': 'v1' } });
  });
  const digests: { name: string; digest: string; ok: boolean }[] = [
    { name: 'sha256', digest: `sha256:${'0'.repeat(64)}`, ok: true },
    { name: 'path traversal', digest: 'sha256:../../etc/passwd', ok: false },
    { name: 'short hex', digest: 'sha256:abc', ok: false },
    { name: 'upper case', digest: `sha256:${'A'.repeat(64)}`, ok: false },
  ];
  for (const d of digests) {
    test(`blobPath ${d.name}`, () => {
      if (d.ok) assert.equal(blobPath('/L', d.digest), `/L/blobs/sha256/${'0'.repeat(64)}`);
      else assert.throws(() => blobPath('/L', d.digest), /unexpected digest/);
    });
  }
});
