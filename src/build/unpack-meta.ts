// The bundle metadata side of unpack: records the mtree while layers are applied (falling
// back to a walk of the finished rootfs when the recorder lost track), then writes
// umoci.json and the mtree beside rootfs/ once the bundle is published. unpack.ts holds
// one of these; it knows nothing of mtree details.
import type { RootFS } from '../fs/rootfs.js';
import type { ResolvedImage } from '../image/index.js';
import type { IdMap } from '../layer/ids.js';
import type { ApplyObserver } from '../layer/observer.js';
import { removeBundleMeta, writeBundleMeta, type BundleMeta } from './bundle-meta.js';
import { MtreeRecorder, type MtreeModel } from './mtree-record.js';
import type { Mtree } from './mtree-spec.js';
import { walkMtree } from './mtree-walk.js';

export class BundleRecorder {
  private readonly rec = new MtreeRecorder();
  private readonly meta: BundleMeta;
  private tree: Mtree | MtreeModel | null = null;
  /** Why the mtree came from a walk instead of the recorder (null: recorded). */
  walkedBecause: string | null = null;

  constructor(img: ResolvedImage, opts: { rootless?: boolean; uidMap?: IdMap[]; gidMap?: IdMap[] }) {
    this.meta = {
      descriptorPath: img.descriptorPath ?? [img.manifestDescriptor],
      uidMap: opts.uidMap ?? [],
      gidMap: opts.gidMap ?? [],
      rootless: opts.rootless ?? false,
    };
  }

  get observer(): ApplyObserver {
    return this.rec;
  }

  /** After the applier's finish(): the mtree of the rootfs as it now stands. */
  finish(fs: RootFS): void {
    const tree = this.rec.finish(fs);
    if (this.rec.lost === null) this.tree = tree;
    else {
      this.walkedBecause = this.rec.lost;
      this.tree = walkMtree(fs);
    }
  }

  /** Writes the metadata into a published bundle, or clears stale metadata when not recording. */
  static publish(bundle: string, r: BundleRecorder | null, replaced: boolean): void {
    if (r === null || r.tree === null) {
      if (replaced) removeBundleMeta(bundle);
    } else writeBundleMeta(bundle, r.meta, r.tree);
  }
}
