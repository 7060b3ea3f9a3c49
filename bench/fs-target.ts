// The file system under test: the journaled loop ext4 of ../shared/bench/benchfs.sh (mounted
// if needed, left mounted for the next run), a tmpfs mounted for this run only, or a directory
// the user names; and copying image layouts onto it once. Never times anything.
import { mkdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FsChoice } from './args.js';
import { run, runOk, runVisible } from './proc.js';

export interface FsTarget {
  /** the harness's directory on the fs under test: layouts/ and out/ live here */
  root: string;
  /** what the results call this fs, e.g. "loop ext4 (journaled, benchfs.sh)" */
  label: string;
  /** findmnt's view: fstype, source, options */
  mount: string;
  /** notes for the user (e.g. that the loop fs was left mounted) */
  notes: string[];
  cleanup(): Promise<void>;
}

async function isMountpoint(dir: string): Promise<boolean> {
  return (await run('mountpoint', ['-q', dir])).code === 0;
}

async function describeMount(dir: string): Promise<string> {
  const r = await run('findmnt', ['-no', 'FSTYPE,SOURCE,OPTIONS', '--target', dir]);
  return r.stdout.trim().replace(/\s+/g, ' ');
}

export async function prepareFs(choice: FsChoice, images: string, sharedBench: string): Promise<FsTarget> {
  if (choice.kind === 'loop') {
    const mnt = join(images, 'benchfs');
    const notes: string[] = [];
    if (!(await isMountpoint(mnt))) {
      const rc = await runVisible('bash', [join(sharedBench, 'benchfs.sh'), 'mount']);
      if (rc !== 0 || !(await isMountpoint(mnt))) throw new Error(`benchfs.sh mount failed (exit ${rc}) for ${mnt}`);
      notes.push(`mounted the loop fs at ${mnt}; it stays mounted for the next run (bash ${sharedBench}/benchfs.sh umount removes it)`);
    }
    const root = join(mnt, 'ocibundle-bench');
    await mkdir(root, { recursive: true });
    return { root, label: 'loop (journaled ext4, benchfs.sh)', mount: await describeMount(root), notes, cleanup: async () => {} };
  }
  if (choice.kind === 'tmpfs') {
    const mnt = join(images, 'bench-tmpfs');
    await mkdir(mnt, { recursive: true });
    if (await isMountpoint(mnt)) throw new Error(`${mnt} is already mounted (a previous run?); umount it first`);
    await runOk('mount', ['-t', 'tmpfs', '-o', 'size=12g,mode=0755', 'ocibundle-bench', mnt]);
    const root = join(mnt, 'ocibundle-bench');
    await mkdir(root, { recursive: true });
    return {
      root,
      label: 'tmpfs (mounted for this run)',
      mount: await describeMount(root),
      notes: [],
      cleanup: async () => {
        await runOk('umount', [mnt]);
        await rmdir(mnt).catch(() => {});
      },
    };
  }
  const root = join(choice.dir, 'ocibundle-bench');
  await mkdir(root, { recursive: true });
  return {
    root,
    label: `dir ${choice.dir}`,
    mount: await describeMount(root),
    notes: [`layouts are kept in ${root}/layouts for the next run`],
    cleanup: async () => {
      await rm(join(root, 'out'), { recursive: true, force: true });
    },
  };
}

async function readOr(path: string): Promise<string | null> {
  return readFile(path, 'utf8').catch(() => null);
}

/**
 * Copy image layout `src` to `dest` unless an identical copy is there (same index.json and a
 * completed copy). The copy goes to a temporary name first, so an interrupted one is redone.
 */
export async function copyLayoutOnce(src: string, dest: string): Promise<'copied' | 'reused'> {
  const srcIndex = await readOr(join(src, 'index.json'));
  if (srcIndex === null) throw new Error(`${src} is not an image layout (no index.json)`);
  if ((await readOr(join(dest, 'index.json'))) === srcIndex) return 'reused';
  const tmp = `${dest}.copying`;
  await mkdir(dirname(dest), { recursive: true });
  await rm(tmp, { recursive: true, force: true });
  await rm(dest, { recursive: true, force: true });
  await runOk('cp', ['-a', src, tmp]);
  await rename(tmp, dest);
  return 'copied';
}
