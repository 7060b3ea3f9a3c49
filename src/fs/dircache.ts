// A bounded LRU of O_PATH directory fds keyed by rootfs-relative path, owned by one RootFS.
// It only stores and closes fds; it never resolves a path. Entries reached through a symlink
// are "aliased": their key is not their real location, so any structural change drops them.
import type { NativeAddon } from './native.js';

export interface DirEntry {
  fd: number;
  /** Resolution went through at least one symlink. */
  aliased: boolean;
}

export class DirCache {
  private readonly map = new Map<string, DirEntry>();
  private aliasedCount = 0;
  /** The most recent hit; never evicted while it is the most recent. */
  private lastKey: string | null = null;
  private lastEntry: DirEntry | null = null;

  constructor(
    private readonly n: NativeAddon,
    readonly capacity = 128,
  ) {
    if (capacity < 2) throw new RangeError('dir cache capacity must be at least 2');
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): DirEntry | undefined {
    if (key === this.lastKey) return this.lastEntry!;
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    this.lastKey = key;
    this.lastEntry = e;
    return e;
  }

  /** Without touching the LRU order. */
  peek(key: string): DirEntry | undefined {
    return this.map.get(key);
  }

  /** Store a fresh entry (the cache now owns its fd), evicting the least recently used. */
  set(key: string, e: DirEntry): void {
    const old = this.map.get(key);
    if (old !== undefined) this.drop(key, old);
    while (this.map.size >= this.capacity) {
      const first = this.map.entries().next().value as [string, DirEntry];
      if (first[1] === this.lastEntry) {
        // refresh the last hit instead: a caller may still be using its fd
        this.map.delete(first[0]);
        this.map.set(first[0], first[1]);
        continue;
      }
      this.drop(first[0], first[1]);
    }
    this.map.set(key, e);
    if (e.aliased) this.aliasedCount++;
    this.lastKey = key;
    this.lastEntry = e;
  }

  /**
   * Forget `path` and everything below it, and every aliased entry (its real location is
   * unknown). With `all`, forget everything: the change itself was made through a symlink.
   */
  invalidate(path: string, all: boolean): void {
    if (this.map.size === 0) return;
    if (all || path === '.') {
      this.clear();
      return;
    }
    const prefix = `${path}/`;
    for (const [k, e] of this.map) {
      if (e.aliased || k === path || k.startsWith(prefix)) this.drop(k, e);
    }
  }

  clear(): void {
    for (const [k, e] of this.map) this.drop(k, e);
  }

  private drop(key: string, e: DirEntry): void {
    this.map.delete(key);
    if (e.aliased) this.aliasedCount--;
    if (e === this.lastEntry) {
      this.lastKey = null;
      this.lastEntry = null;
    }
    try {
      this.n.close(e.fd);
    } catch {
      /* closing an O_PATH fd cannot fail in a way we could act on */
    }
  }

  get aliased(): number {
    return this.aliasedCount;
  }
}
