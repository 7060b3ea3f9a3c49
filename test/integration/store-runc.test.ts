// End to end with the layer store: overlay bundles run under runc and crun as root (the probe
// fixture image, and Debian from ../shared/bench when the machine has it), the container's
// writes land in the bundle's upper dir and never in the store, and umount undoes the mount.
// Every overlay is unmounted in finally before the scratch dir is removed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildProbe, busyboxStatic, writeProbeImage } from '../../fixtures/images.js';
import { hasCommand, isRoot, scratchDir } from '../helpers/cli.js';
import { RUNTIMES } from '../helpers/runtimes.js';
import { BENCH_IMAGES, cli, isMountPoint, ok, unmountAllUnder } from '../helpers/store-env.js';

const skip = !isRoot() ? 'needs root (overlay mounts, containers)' : !hasCommand('cc') ? 'needs a C compiler for the probe' : RUNTIMES.every((r) => r.skip) ? 'neither runc nor crun is installed' : false;
const noShell = busyboxStatic() === null ? 'needs a static /bin/busybox (apt-get install busybox-static)' : false;
const debian = join(BENCH_IMAGES, 'debian');
const sh = (script: string) => ['--args', JSON.stringify(['/bin/sh', '-c', script])];

interface Case {
  name: string;
  image: (dir: string) => string;
  flags: string[];
  expect: RegExp[];
  /** A path the container writes, to be found in the upper dir afterwards. */
  writes?: string;
  skip?: string | false;
}

let probeLayout: string | null = null;
function probeImage(dir: string): string {
  if (probeLayout) return probeLayout;
  const probe = buildProbe(join(dir, 'cache'));
  assert.ok(probe, 'probe compiled');
  probeLayout = join(dir, 'probe');
  writeProbeImage(probeLayout, probe, [{ tag: 'latest', config: { Cmd: ['/probe', 'from-overlay'] } }]);
  return `${probeLayout}:latest`;
}

const cases: Case[] = [
  { name: 'probe image: the default Cmd', image: probeImage, flags: [], expect: [/^probe: hello from an ocibundle bundle$/m, /^arg\[1\]=from-overlay$/m, /^uid=0 gid=0$/m] },
  { name: 'probe image: busybox writes into the rootfs', image: probeImage, flags: sh('echo written > /written-by-container && cat /written-by-container'), expect: [/^written$/m], writes: 'written-by-container', skip: noShell },
  {
    name: 'debian: the image\'s shell, passwd read through the mount',
    image: () => `${debian}:latest`,
    flags: sh('cat /etc/debian_version; id -un; echo x > /root/w && echo wrote'),
    expect: [/^\d+(\.\d+)*$/m, /^root$/m, /^wrote$/m],
    writes: 'root/w',
    skip: existsSync(debian) ? false : `no ${debian} (built by ../shared/bench/build-all.sh)`,
  },
];

test('overlay bundles run under runc and crun as root', { skip, timeout: 600_000 }, async (t) => {
  const dir = scratchDir('store-runc');
  try {
    const store = join(dir, 'store');
    for (const [i, c] of cases.entries()) {
      await t.test(c.name, { skip: c.skip ?? false }, async (tc) => {
        const image = c.image(dir);
        for (const rt of RUNTIMES) {
          await tc.test(rt.name, { skip: rt.skip }, () => {
            const bundle = join(dir, `bundle-${i}-${rt.name}`);
            ok(['unpack', `--store=${store}`, '--overlay', '--image', image, ...c.flags, bundle]);
            try {
              assert.ok(isMountPoint(join(bundle, 'rootfs')));
              const r = rt.run(bundle, `ocibundle-ovl-${process.pid}-${i}-${rt.name}`);
              assert.equal(r.status, 0, `${rt.name}: ${r.stderr}`);
              for (const re of c.expect) assert.match(r.stdout, re);
              if (c.writes) assert.ok(existsSync(join(bundle, '.ocibundle', 'upper', c.writes)), 'the write is in the bundle\'s upper dir');
            } finally {
              const u = cli(['umount', bundle]);
              assert.equal(u.status, 0, u.stderr);
            }
            assert.ok(!isMountPoint(join(bundle, 'rootfs')));
          });
        }
      });
    }
    // nothing the containers wrote reached the store
    const v = cli(['store', 'verify', '--store', store]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  } finally {
    unmountAllUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});
