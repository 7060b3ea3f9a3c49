// The OCI runtimes the end-to-end tests run bundles with: runc as it is, and crun 1.8 inside
// `unshare -m` over a pure cgroup2 mount with --cgroup-manager=disabled (Debian's crun refuses
// this host's hybrid cgroup layout otherwise; the workaround lives here, never in a bundle).
// Each can run as root or, through runuser, as an unprivileged user. Not a test file itself.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { hasCommand, isRoot } from './cli.js';

export interface RunAs {
  /** Run the runtime as this unprivileged user (runuser), with its state under `stateDir`. */
  user?: string;
  stateDir?: string;
}

export interface Runtime {
  name: 'runc' | 'crun';
  /** A reason to skip, or false. */
  skip: string | false;
  /** `run -b BUNDLE ID` in the foreground; the container is deleted afterwards either way. */
  run(bundle: string, id: string, as?: RunAs): SpawnSyncReturns<string>;
}

const TIMEOUT = 60_000;

function asUser(as: RunAs | undefined, argv: string[]): string[] {
  if (as?.user === undefined) return argv;
  // XDG_RUNTIME_DIR of root would point the runtime at root's state; --root gives its own.
  return ['runuser', '-u', as.user, '--', 'env', 'XDG_RUNTIME_DIR=', ...argv];
}

function rootFlag(as: RunAs | undefined): string[] {
  return as?.stateDir === undefined ? [] : ['--root', as.stateDir];
}

function spawn(argv: string[]): SpawnSyncReturns<string> {
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: TIMEOUT, stdio: ['ignore', 'pipe', 'pipe'] });
}

const runc: Runtime = {
  name: 'runc',
  skip: !isRoot() ? 'needs root to run containers' : !hasCommand('runc') ? 'runc not installed (apt-get install runc)' : false,
  run(bundle, id, as) {
    const base = ['runc', ...rootFlag(as)];
    const r = spawn(asUser(as, [...base, 'run', '-b', bundle, id]));
    spawn(asUser(as, [...base, 'delete', '-f', id]));
    return r;
  },
};

/** The shell run inside `unshare -m`: a cgroup2-only /sys/fs/cgroup, then crun, then delete. */
const CRUN_SCRIPT = [
  'umount -R /sys/fs/cgroup 2>/dev/null',
  'mount -t cgroup2 none /sys/fs/cgroup || exit 125',
  '"$@" run -b "$BUNDLE" "$ID"',
  'rc=$?',
  '"$@" delete -f "$ID" >/dev/null 2>&1',
  'exit $rc',
].join('\n');

const crun: Runtime = {
  name: 'crun',
  skip: !isRoot() ? 'needs root (unshare -m and a cgroup2 mount for crun)' : !hasCommand('crun') ? 'crun not installed (apt-get install crun)' : !hasCommand('unshare') ? 'unshare (util-linux) missing' : false,
  run(bundle, id, as) {
    const argv = asUser(as, ['crun', ...rootFlag(as), '--cgroup-manager=disabled']);
    return spawnSync('unshare', ['-m', 'sh', '-c', CRUN_SCRIPT, 'crun-in-cgroup2', ...argv], {
      encoding: 'utf8',
      timeout: TIMEOUT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BUNDLE: bundle, ID: id },
    });
  },
};

export const RUNTIMES: readonly Runtime[] = [runc, crun];
