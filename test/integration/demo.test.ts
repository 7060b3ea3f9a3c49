// `npm run demo` must work on a fresh clone: it builds the demo image, unpacks it with the CLI
// and, as root with runc installed, runs it. This runs the same script the README names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { hasCommand, isRoot } from '../helpers/cli.js';

const demo = fileURLToPath(new URL('../../fixtures/demo.js', import.meta.url));

test('npm run demo builds, unpacks and (as root with runc) runs the demo image', { skip: hasCommand('cc') ? false : 'needs a C compiler' }, () => {
  const r = spawnSync(process.execPath, [demo], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /config\.json: args=\["\/probe","demo"\] user=\{"uid":1234,"gid":2345/);
  if (isRoot() && hasCommand('runc')) {
    assert.match(r.stdout, /^uid=1234 gid=2345$/m);
    assert.match(r.stdout, /^env GREETING=hello from the demo image$/m);
    assert.match(r.stdout, /the bundle ran under runc/);
  } else {
    assert.match(r.stdout, /skipped: running needs root and runc/);
  }
});
