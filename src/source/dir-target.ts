// `dir:PATH` as a copy destination, in skopeo's directory format: `version`, `manifest.json`
// (the top manifest or index, bytes kept), instance manifests as HEX.manifest.json, config and
// layers as HEX. Everything is written into a temp directory beside PATH (created exclusively,
// mode 0700) and published by rename at the end; PATH may be absent, an empty directory, or a
// previous dir: image, whose files (only names of this format) are then removed after the
// rename. Anything else at PATH is EEXIST and stays untouched.
import { createWriteStream, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { OciBundleError } from '../errors.js';
import { parseDigest } from '../image/digest.js';
import { isIndexType, isManifestType } from '../image/media-types.js';
import type { Descriptor } from '../image/types.js';
import { assertReplaceable } from '../host/guard.js';
import { clearDeadTemps, createTempDirSync, tempName } from '../host/temp.js';
import { DIR_VERSION } from './dir.js';
import type { BlobState, CopyTarget } from './target.js';

/** Names a dir: image holds (what a replaced one may lose). */
const DIR_NAME_RE = /^(version|manifest\.json|[0-9a-f]{64}(\.manifest\.json)?|signature-[0-9]+|[0-9a-f]{64}\.signature-[0-9]+)$/;

function hexOf(desc: Descriptor): string {
  const { algorithm, hex } = parseDigest(desc.digest);
  if (algorithm !== 'sha256') throw new OciBundleError('EUSAGE', `dir: destinations hold sha256 blobs only, not ${desc.digest}`);
  return hex;
}

const isDoc = (mt: string) => isIndexType(mt) || isManifestType(mt);

export class DirTarget implements CopyTarget {
  readonly convertsToOci = false;
  private tmp: string | undefined;
  constructor(readonly path: string) {}

  get where(): string {
    return `dir:${this.path}`;
  }

  /** Checks PATH can take the image, clears temps of killed copies beside it, makes the temp directory. */
  async open(): Promise<void> {
    await this.previous();
    await clearDeadTemps(dirname(this.path), { kinds: ['dir'] });
    this.tmp = createTempDirSync(dirname(this.path), 'dir', 0o755);
    await fsp.writeFile(join(this.tmp, 'version'), DIR_VERSION, { flag: 'wx' });
  }

  /** 'absent', 'empty', or 'image' (a dir: image this copy may replace); EEXIST for anything else. */
  private async previous(): Promise<'absent' | 'empty' | 'image'> {
    const st = await fsp.lstat(this.path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (!st) return 'absent';
    if (st.isSymbolicLink()) throw new OciBundleError('EEXIST', `dir:${this.path} is a symlink; refused (name the directory itself)`);
    if (!st.isDirectory()) throw new OciBundleError('EEXIST', `dir:${this.path} exists and is not a directory`);
    const names = await fsp.readdir(this.path);
    if (names.length === 0) return 'empty';
    const stray = names.find((n) => !DIR_NAME_RE.test(n));
    if (!names.includes('version') || stray !== undefined) {
      throw new OciBundleError('EEXIST', `dir:${this.path} is not empty and not a dir: image${stray !== undefined ? ` (it holds ${JSON.stringify(stray.slice(0, 100))})` : ''}; refused`);
    }
    return 'image';
  }

  private file(name: string): string {
    if (this.tmp === undefined) throw new OciBundleError('EIO', 'internal: dir: target not opened');
    return join(this.tmp, name);
  }

  async check(): Promise<BlobState> {
    return 'absent'; // a fresh directory: skopeo does not reuse what PATH held either
  }

  async writeBlob(desc: Descriptor, chunks: AsyncIterable<Buffer>, onBytes?: (n: number) => void, before?: () => Promise<void>): Promise<void> {
    const out = createWriteStream(this.file(hexOf(desc)), { flags: 'wx', mode: 0o644 });
    try {
      for await (const c of chunks) {
        if (!out.write(c)) await once(out, 'drain'); // rejects on 'error'; removes both listeners
        onBytes?.(c.length);
      }
      out.end();
      await finished(out);
    } catch (e) {
      out.destroy();
      throw e;
    }
    await before?.();
  }

  async writeDoc(desc: Descriptor, bytes: Buffer): Promise<void> {
    const hex = hexOf(desc);
    await fsp.writeFile(this.file(isDoc(desc.mediaType) ? `${hex}.manifest.json` : hex), bytes, { flag: 'wx', mode: 0o644 });
  }

  openOwn(): undefined {
    return undefined;
  }

  /** Makes `top` manifest.json and puts the directory at PATH (replacing a previous dir: image). */
  async publish(top: Descriptor): Promise<void> {
    await fsp.rename(this.file(`${hexOf(top)}.manifest.json`), this.file('manifest.json'));
    const tmp = this.tmp!;
    const was = await this.previous();
    if (was === 'absent') {
      await fsp.rename(tmp, this.path);
    } else if (was === 'empty') {
      await fsp.rmdir(this.path);
      await fsp.rename(tmp, this.path);
    } else {
      // the old image goes aside under a temp name, the new one takes its place, then the
      // old one's files (names of this format only) and its directory are removed
      assertReplaceable(this.path, { what: 'dir: destination' });
      const aside = join(dirname(this.path), tempName('dir'));
      await fsp.rename(this.path, aside);
      await fsp.rename(tmp, this.path);
      for (const n of await fsp.readdir(aside)) if (DIR_NAME_RE.test(n)) await fsp.unlink(join(aside, n)).catch(() => undefined);
      await fsp.rmdir(aside).catch(() => undefined);
    }
    this.tmp = undefined;
  }

  /** Removes the temp directory of a copy that did not publish (only what this copy wrote). */
  async discard(): Promise<void> {
    const tmp = this.tmp;
    if (tmp === undefined) return;
    this.tmp = undefined;
    for (const n of await fsp.readdir(tmp).catch(() => [] as string[])) if (DIR_NAME_RE.test(n)) await fsp.unlink(join(tmp, n)).catch(() => undefined);
    await fsp.rmdir(tmp).catch(() => undefined);
  }
}
