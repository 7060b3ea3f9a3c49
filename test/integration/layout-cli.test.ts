// The layout commands through the real CLI (bin/ocibundle): init, ls, tag, rm, stat, gc,
// validate; exit statuses, one-line errors on stderr, data on stdout, --json, --help.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { addBlob, addJson, blobPath, corruptBlob, gzip, initLayoutDir, makeTar, MEDIA, tagged, writeIndexJson, writeLayout } from '../../fixtures/layout.js';
import { runCli, tmpDir } from '../helpers/layout-env.js';

const t = tmpDir('layout-cli-');
after(t.cleanup);
let n = 0;
const dirFor = () => join(t.dir, `l${n++}`);

function oneLineError(stderr: string, code: string): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${stderr}`);
  assert.match(lines[0]!, new RegExp(`^ocibundle: ${code}: `));
}

test('init, then ls/tag/rm round trip', () => {
  const d = dirFor();
  assert.equal(runCli(['init', '--layout', d]).status, 0);
  const again = runCli(['init', '--layout', d]);
  assert.equal(again.status, 5);
  oneLineError(again.stderr, 'EEXIST');
  const ls = runCli(['ls', '--layout', d]);
  assert.equal(ls.status, 0);
  assert.equal(ls.stdout, '');
});

test('ls, tag, re-tag and rm', async () => {
  const d = dirFor();
  writeLayout(d, { images: [{ tag: 'latest' }, { tag: 'old', config: { author: 'o' } }] });
  assert.equal(runCli(['ls', '--layout', d]).stdout, 'latest\nold\n');
  assert.equal(runCli(['tag', '--image', d, 'v1']).status, 0);
  assert.equal(runCli(['tag', '--image', `${d}:old`, 'latest']).status, 0);
  assert.equal(runCli(['ls', '--layout', d]).stdout, 'old\nv1\nlatest\n');
  const js = JSON.parse(runCli(['ls', '--layout', d, '--json']).stdout) as { tag: string; digest: string }[];
  assert.deepEqual(js.map((e) => e.tag), ['old', 'v1', 'latest']);
  assert.equal(js[0]!.digest, js[2]!.digest);
  const rm = runCli(['rm', '--image', `${d}:v1`]);
  assert.equal(rm.status, 0);
  assert.equal(rm.stderr, '');
  const rmMissing = runCli(['rm', '--image', `${d}:nope`]);
  assert.equal(rmMissing.status, 0);
  assert.match(rmMissing.stderr, /^ocibundle: warning: ENOTAG: tag nope not found/);
  assert.equal(runCli(['ls', '--layout', d]).stdout, 'old\nlatest\n');
  const tagByDigest = runCli(['tag', '--image', `${d}@${js[1]!.digest}`, 'pinned']);
  assert.equal(tagByDigest.status, 0, tagByDigest.stderr);
  assert.equal(runCli(['ls', '--layout', d]).stdout, 'old\nlatest\npinned\n');
});

test('errors are one line with the documented exit status', () => {
  const d = dirFor();
  writeLayout(d, { images: [{ tag: 'latest' }] });
  const table: [string, string[], number, string][] = [
    ['missing layout', ['ls', '--layout', join(t.dir, 'none')], 3, 'ENOLAYOUT'],
    ['missing tag', ['tag', '--image', `${d}:none`, 'x'], 3, 'ENOTAG'],
    ['bad new tag', ['tag', '--image', d, 'x..y'], 2, 'EBADREF'],
    ['bad image ref', ['stat', '--image', `${d}:a b`], 2, 'EBADREF'],
    ['colon in layout path', ['ls', '--layout', 'a:b'], 2, 'EBADREF'],
    ['missing --layout', ['ls'], 2, 'EUSAGE'],
    ['bad platform', ['stat', '--image', d, '--platform', 'linux'], 2, 'EUSAGE'],
    ['validate with both', ['validate', '--image', d, '--layout', d], 2, 'EUSAGE'],
  ];
  for (const [name, args, status, code] of table) {
    const r = runCli(args);
    assert.equal(r.status, status, `${name}: ${r.stderr}`);
    assert.equal(r.stdout, '', name);
    assert.match(r.stderr, new RegExp(`ocibundle: ${code}: `), name);
  }
});

test('every layout command has --help with examples', () => {
  for (const c of ['init', 'ls', 'tag', 'rm', 'stat', 'gc', 'validate']) {
    const r = runCli([c, '--help']);
    assert.equal(r.status, 0, c);
    assert.match(r.stdout, /Examples:/, c);
  }
});

test('stat text: annotations (index entry, manifest), OS and architecture lines, quoted values, sorted ports', async () => {
  const d = dirFor();
  writeLayout(d, {
    images: [{
      tag: 'latest',
      manifestAnnotations: { 'org.example.note': 'two words', 'org.example.empty': '' },
      config: { author: '', config: { User: 'some user', Env: ['A=x y', 'B='], ExposedPorts: { '8080/tcp': {}, '53/udp': {}, '443/tcp': {} }, Labels: { l: 'v w' } } },
      platform: 'linux/arm64/v8',
    }],
  });
  const r = runCli(['stat', '--image', `${d}:latest`]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  for (const want of [
    '\torg.opencontainers.image.ref.name: latest',
    'Annotations:',
    '\torg.example.empty: ""',
    '\torg.example.note: "two words"',
    'Author: ""',
    'OS: linux',
    'Architecture: arm64',
    'Variant: v8',
    '\tUser: "some user"',
    '\t\t"A=x y"',
    '\t\tB=',
    '\tExposed Ports: 443/tcp, 53/udp, 8080/tcp',
    '\t\tl: "v w"',
  ]) assert.ok(lines.includes(want), `missing ${JSON.stringify(want)} in:\n${r.stdout}`);
  assert.ok(!lines.some((l) => l.startsWith('Platform:')));
});

test('stat of an OCI artifact manifest says what it is', async () => {
  const d = dirFor();
  initLayoutDir(d);
  const cfg = addJson(d, '{}', 'application/vnd.cncf.helm.config.v1+json');
  const m = addJson(d, { schemaVersion: 2, mediaType: MEDIA.manifest, artifactType: 'application/vnd.example.thing', config: cfg, layers: [] }, MEDIA.manifest);
  writeIndexJson(d, [tagged(m, 'chart')]);
  const r = runCli(['stat', '--image', `${d}:chart`]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes('Artifact Type: application/vnd.example.thing (an artifact, not a runnable image)'), r.stdout);
  assert.ok(!r.stdout.includes('== CONFIG =='));
  const js = JSON.parse(runCli(['stat', '--image', `${d}:chart`, '--json']).stdout) as Record<string, unknown>;
  assert.equal(js['artifactType'], 'application/vnd.example.thing');
  assert.equal(js['config'], undefined);
});

test('stat: text sections and the JSON shape; history without created', async () => {
  const d = dirFor();
  const layer = gzip(await makeTar([{ name: 'a', data: 'a' }]));
  writeLayout(d, {
    images: [
      {
        tag: 'latest',
        layers: [layer],
        config: { config: { Env: ['A=1'], Cmd: ['sh'] }, history: [{ created_by: 'ADD a /' }, { created: '2024-01-01T00:00:00Z', created_by: 'ENV A=1', empty_layer: true }] },
      },
    ],
    indexes: [{ tag: 'multi', images: [{ platform: 'linux/amd64', config: { author: 'amd' } }, { platform: 'linux/arm64', config: { author: 'arm' } }] }],
  });
  const text = runCli(['stat', '--image', d]);
  assert.equal(text.status, 0, text.stderr);
  for (const s of ['== MANIFEST ==', '== CONFIG ==', '== HISTORY ==', 'ADD a /', 'ENV A=1', '<none>']) assert.ok(text.stdout.includes(s), s);
  const js = JSON.parse(runCli(['stat', '--image', `${d}:latest`, '--json']).stdout) as Record<string, any>;
  assert.ok(js['manifest'].descriptor.digest.startsWith('sha256:'));
  assert.equal(js['manifest'].blob.schemaVersion, 2);
  assert.ok(js['config'].descriptor.digest.startsWith('sha256:'));
  assert.deepEqual(js['config'].blob.config.Env, ['A=1']);
  assert.equal(js['history'].length, 2);
  // faithful to the config: what it leaves out stays out (no created, no empty_layer: null)
  assert.deepEqual(Object.keys(js['history'][0]).sort(), ['created_by', 'diff_id', 'layer']);
  assert.equal(js['history'][0].layer.digest, js['manifest'].blob.layers[0].digest);
  assert.ok(String(js['history'][0].diff_id).startsWith('sha256:'));
  assert.deepEqual(js['history'][1], { layer: null, created: '2024-01-01T00:00:00Z', created_by: 'ENV A=1', empty_layer: true });
  const arm = JSON.parse(runCli(['stat', '--image', `${d}:multi`, '--platform', 'linux/arm64', '--json']).stdout) as Record<string, any>;
  assert.equal(arm['config'].blob.author, 'arm');
  const none = runCli(['stat', '--image', `${d}:multi`, '--platform', 'linux/s390x']);
  assert.equal(none.status, 3);
  assert.match(none.stderr, /ENOPLATFORM: .*available: linux\/amd64, linux\/arm64/);
});

test('gc removes unreachable blobs; validate reports problems and exits 4', () => {
  const d = dirFor();
  const out = writeLayout(d, { images: [{ tag: 'latest' }, { tag: 'other', config: { author: 'x' } }] });
  const stray = addBlob(d, 'stray').digest;
  assert.equal(runCli(['rm', '--image', `${d}:other`]).status, 0);
  const gc = runCli(['gc', '--layout', d, '--json']);
  assert.equal(gc.status, 0, gc.stderr);
  const removed = (JSON.parse(gc.stdout) as { removedBlobs: string[] }).removedBlobs;
  assert.equal(removed.length, 3);
  assert.ok(removed.includes(stray));
  assert.ok(existsSync(blobPath(d, out.images[0]!.manifest.digest)));
  const ok = runCli(['validate', '--layout', d]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, '');
  corruptBlob(d, out.images[0]!.config.digest);
  const bad = runCli(['validate', '--layout', d]);
  assert.equal(bad.status, 4);
  assert.match(bad.stdout, /^EDIGEST: blob sha256:[0-9a-f]{64} does not match its digest \(reached from latest\)\n$/);
  assert.match(bad.stderr, /EINVALID: 1 problem/);
  const badJson = JSON.parse(runCli(['validate', '--image', d, '--json']).stdout) as { valid: boolean; problems: unknown[] };
  assert.equal(badJson.valid, false);
  assert.equal(badJson.problems.length, 1);
});
