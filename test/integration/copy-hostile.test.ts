// Hostile copy destinations and archive paths through the CLI: symlinks planted in DEST's
// blobs/ tree (refused, nothing outside written), FIFOs, sockets, devices and directories
// named as archives (refused at once, never a hang), blobs in DEST that lie about their
// content (replaced with a warning), and layers that contradict the diff_ids a converted or
// synthesised manifest asserts (EDIFFID, no tag). A canary tree beside DEST must not change.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { dockerArchiveOf, smallDockerImage, ociArchiveOf } from '../../fixtures/archives.js';
import { gzip, makeTar, sha256, writeLayout, type BuiltLayout } from '../../fixtures/layout.js';
import { makeTar as makeTarSync } from '../../fixtures/tar.js';
import { ERROR_CODES } from '../../src/errors.js';
import { fingerprint } from '../helpers/fs-sandbox.js';
import { runCli, scratchDir } from '../helpers/cli.js';

let dir: string;
let src: string;
let built: BuiltLayout;
let canary: string;

const hex = (d: string) => d.slice('sha256:'.length);
const exit = (code: keyof typeof ERROR_CODES) => ERROR_CODES[code];

before(async () => {
  dir = scratchDir('copy-hostile');
  src = join(dir, 'src');
  built = writeLayout(src, {
    images: [
      { tag: 'latest', layers: [gzip(await makeTar([{ name: 'a.txt', data: 'layer one\n' }])), gzip(await makeTar([{ name: 'b.bin', data: Buffer.alloc(300_000, 9) }]))] },
      { tag: 'docker-bad', docker: true, layers: [gzip(await makeTar([{ name: 'c.txt', data: 'docker\n' }]))], diffIds: [sha256('not this layer')] },
    ],
  });
  // outside every target: must stay byte for byte as it is
  canary = join(dir, 'canary');
  mkdirSync(join(canary, 'sha256'), { recursive: true });
  writeFileSync(join(canary, 'victim'), 'do not touch\n');
  writeFileSync(join(canary, 'sha256', hex(built.images[0]!.layers[0]!.digest)), 'not a blob\n');
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI and checks the canary tree did not change. */
function cliKeepingCanary(args: string[]) {
  const beforeFp = fingerprint(canary);
  const r = runCli(args, { timeout: 30_000 });
  assert.equal(r.error, undefined, `the command did not finish: ${String(r.error)}`);
  assert.equal(fingerprint(canary), beforeFp, 'files outside the target changed');
  return r;
}

function oneErrorLine(stderr: string, code: string): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, new RegExp(`^ocibundle: ${code}: `));
}

/** A fresh copy of the source tag at `name`, the way a user made it before. */
function goodDest(name: string): string {
  const d = join(dir, name);
  const r = runCli(['copy', `oci:${src}:latest`, `oci:${d}:latest`]);
  assert.equal(r.status, 0, r.stderr);
  return d;
}

test('planted symlinks in a copy destination are refused, never written through', async (t) => {
  const cases: { name: string; plant(dest: string): void }[] = [
    {
      name: 'DEST/blobs is a symlink',
      plant: (d) => {
        mkdirSync(d);
        writeFileSync(join(d, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
        writeFileSync(join(d, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
        symlinkSync(canary, join(d, 'blobs'));
      },
    },
    {
      name: 'DEST/blobs/sha256 is a symlink',
      plant: (d) => {
        mkdirSync(join(d, 'blobs'), { recursive: true });
        writeFileSync(join(d, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
        writeFileSync(join(d, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
        symlinkSync(join(canary, 'sha256'), join(d, 'blobs', 'sha256'));
      },
    },
    {
      name: 'a blob name in DEST is a symlink to a file outside',
      plant: (d) => {
        mkdirSync(join(d, 'blobs', 'sha256'), { recursive: true });
        writeFileSync(join(d, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
        writeFileSync(join(d, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
        symlinkSync(join(canary, 'victim'), join(d, 'blobs', 'sha256', hex(built.images[0]!.layers[1]!.digest)));
      },
    },
  ];
  for (const [i, c] of cases.entries()) {
    await t.test(c.name, () => {
      const dest = join(dir, `planted${i}`);
      c.plant(dest);
      const r = cliKeepingCanary(['copy', `oci:${src}:latest`, `oci:${dest}:latest`]);
      assert.equal(r.status, exit('EBADLAYOUT'), r.stderr);
      oneErrorLine(r.stderr, 'EBADLAYOUT');
      assert.match(r.stderr, /symlink|not a regular file/);
      assert.equal(readFileSync(join(dest, 'index.json'), 'utf8'), '{"schemaVersion":2,"manifests":[]}', 'no tag written');
    });
  }
  await t.test('gc of a layout whose blobs/sha256 is a symlink deletes nothing outside', () => {
    const dest = join(dir, 'planted-gc');
    mkdirSync(join(dest, 'blobs'), { recursive: true });
    writeFileSync(join(dest, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(join(dest, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    symlinkSync(join(canary, 'sha256'), join(dest, 'blobs', 'sha256'));
    const r = cliKeepingCanary(['gc', '--layout', dest]);
    assert.equal(r.status, exit('EBADLAYOUT'), r.stderr);
    oneErrorLine(r.stderr, 'EBADLAYOUT');
  });
});

test('archives that are not regular files are refused at once', async (t) => {
  const fifo = join(dir, 'fifo.tar');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo works');
  const sock = join(dir, 'sock.tar');
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(sock, r));
  const sub = join(dir, 'a-directory.tar');
  mkdirSync(sub);
  const fifoLink = join(dir, 'fifo-link.tar');
  symlinkSync(fifo, fifoLink);
  try {
    const kinds = [
      { name: 'fifo', path: fifo, says: /is a fifo/ },
      { name: 'symlink to a fifo', path: fifoLink, says: /is a fifo/ },
      { name: 'socket', path: sock, says: /is a socket/ },
      { name: 'character device', path: '/dev/null', says: /is a device/ },
      { name: 'directory', path: sub, says: /is a directory/ },
    ];
    for (const k of kinds) {
      for (const transport of ['docker-archive', 'oci-archive']) {
        await t.test(`${transport}: ${k.name}`, () => {
          const started = Date.now();
          const r = cliKeepingCanary(['copy', `${transport}:${k.path}`, `oci:${join(dir, 'never')}:x`]);
          assert.equal(r.status, exit('ENOLAYOUT'), r.stderr);
          oneErrorLine(r.stderr, 'ENOLAYOUT');
          assert.match(r.stderr, k.says);
          assert.ok(Date.now() - started < 25_000, 'answered without waiting on the file');
        });
      }
    }
    await t.test('an --authfile that is a fifo is refused, not waited on', () => {
      const r = cliKeepingCanary(['copy', 'docker://127.0.0.1:9/x/y:latest', `oci:${join(dir, 'never')}:x`, '--authfile', fifo]);
      assert.equal(r.status, exit('EUSAGE'), r.stderr);
      assert.match(r.stderr, /auth file .*fifo\.tar is not a regular file/);
    });
    assert.equal(existsSync(join(dir, 'never')), false, 'nothing was created');
  } finally {
    server.close();
  }
});

test('blobs a destination already holds are checked before they are reused', async (t) => {
  const layer = built.images[0]!.layers[1]!;
  const cases = [
    { name: 'same size, other bytes: re-hashed and replaced', flags: [], damage: 'flip', replaced: true },
    { name: 'wrong size: replaced', flags: [], damage: 'truncate', replaced: true },
    { name: 'wrong size with --no-verify-existing: still replaced (size is always checked)', flags: ['--no-verify-existing'], damage: 'truncate', replaced: true },
    { name: 'same size, other bytes, with --no-verify-existing: reused, as documented', flags: ['--no-verify-existing'], damage: 'flip', replaced: false },
  ];
  for (const [i, c] of cases.entries()) {
    await t.test(c.name, () => {
      const dest = goodDest(`reuse${i}`);
      const file = join(dest, 'blobs', 'sha256', hex(layer.digest));
      if (c.damage === 'flip') {
        const b = readFileSync(file);
        b[100] = b[100]! ^ 0xff;
        writeFileSync(file, b);
      } else truncateSync(file, 1000);
      const r = cliKeepingCanary(['copy', `oci:${src}:latest`, `oci:${dest}:again`, ...c.flags]);
      assert.equal(r.status, 0, r.stderr);
      const v = runCli(['validate', '--layout', dest]);
      if (c.replaced) {
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`^ocibundle: warning: WBLOBREPLACED: .*${layer.digest} with (another size|other bytes); replaced from the source`));
        assert.equal(v.status, 0, v.stdout + v.stderr);
        assert.equal(lstatSync(file).size, layer.size);
      } else {
        assert.equal(r.stderr, '');
        assert.equal(v.status, exit('EINVALID'), 'validate sees the lie --no-verify-existing let through');
      }
    });
  }
  await t.test('a document DEST holds with other bytes is replaced even with --no-verify-existing', () => {
    const dest = goodDest('reuse-doc');
    const file = join(dest, 'blobs', 'sha256', hex(built.images[0]!.config.digest));
    const b = readFileSync(file);
    b[0] = 0x20;
    writeFileSync(file, b);
    const r = cliKeepingCanary(['copy', `oci:${src}:latest`, `oci:${dest}:again`, '--no-verify-existing']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /warning: WBLOBREPLACED: .* with other bytes; replaced/);
    assert.equal(runCli(['validate', '--layout', dest]).status, 0);
  });
});

test('a copy that converts or synthesises a manifest verifies the diff_ids it asserts', async (t) => {
  const img = smallDockerImage();
  const other = makeTarSync([{ name: 'hello.txt', content: 'other content\n' }]);
  const lying = { ...img, layers: [gzipSync(other)] }; // config's diff_id is of img's layer
  const cases = [
    { name: 'docker-archive, gzip layer contradicting diff_id', src: () => archive('lying.tar', dockerArchiveOf([lying], 'blobs')), code: 'EDIFFID' as const },
    { name: 'Docker media types converted to OCI, wrong diff_id', src: () => `oci:${src}:docker-bad`, code: 'EDIFFID' as const },
    { name: 'docker-archive, honest gzip layer', src: () => archive('honest.tar', dockerArchiveOf([{ ...img, layers: [gzipSync(img.layers[0]!)] }], 'blobs')), code: undefined },
  ];
  for (const [i, c] of cases.entries()) {
    await t.test(c.name, () => {
      const dest = join(dir, `diffid${i}`);
      const r = cliKeepingCanary(['copy', c.src(), `oci:${dest}:t`]);
      if (c.code === undefined) {
        assert.equal(r.status, 0, r.stderr);
        assert.equal(runCli(['validate', '--layout', dest]).status, 0);
        return;
      }
      assert.equal(r.status, exit(c.code), r.stderr);
      oneErrorLine(r.stderr, c.code);
      const ls = runCli(['ls', '--layout', dest]);
      assert.equal(ls.stdout, '', 'no tag written');
    });
  }
  await t.test('layers DEST already has are diff_id-checked too', () => {
    const dest = join(dir, 'diffid-reused');
    const good = archive('good-for-reuse.tar', dockerArchiveOf([{ ...img, layers: [gzipSync(img.layers[0]!)] }], 'blobs'));
    assert.equal(runCli(['copy', good, `oci:${dest}:good`]).status, 0);
    // the lying archive's layer bytes, planted in DEST under their own (correct) digest
    const bad = archive('lying-again.tar', dockerArchiveOf([lying], 'blobs'));
    const planted = gzipSync(other);
    writeFileSync(join(dest, 'blobs', 'sha256', hex(sha256(planted))), planted);
    const r = cliKeepingCanary(['copy', bad, `oci:${dest}:bad`]);
    assert.equal(r.status, exit('EDIFFID'), r.stderr);
    assert.doesNotMatch(runCli(['ls', '--layout', dest]).stdout, /bad/);
  });
  await t.test('an oci-archive is copied verbatim (no manifest made): its layers are not decompressed', () => {
    const file = join(dir, 'plain.tar');
    writeFileSync(file, ociArchiveOf(src));
    const r = runCli(['copy', `oci-archive:${file}:latest`, `oci:${join(dir, 'from-oci-archive')}:t`]);
    assert.equal(r.status, 0, r.stderr);
  });
});

function archive(name: string, bytes: Buffer): string {
  const f = join(dir, name);
  writeFileSync(f, bytes);
  return `docker-archive:${f}`;
}
