// User-namespace id maps: parsing umoci's --uid-map/--gid-map syntax (CONTAINER:HOST[:SIZE])
// and checking a list of maps the way the kernel will (ranges in 32-bit space, no overlaps,
// at most 340 entries). Pure; knows nothing of the rootfs or of owners in layers.
import { OciBundleError } from '../errors.js';
import { SPEC_LIMITS } from './limits.js';
import type { IdMap } from './types.js';

const ID_SPACE = 0x1_0000_0000;

/** Parse 'CONTAINER:HOST[:SIZE]' (decimal, SIZE defaults to 1 and must be at least 1). */
export function parseIdMap(text: string): IdMap {
  const m = /^([0-9]{1,10}):([0-9]{1,10})(?::([0-9]{1,10}))?$/.exec(text);
  const bad = (why: string) =>
    new OciBundleError('EUSAGE', `invalid id map ${JSON.stringify(text)}: ${why}`);
  if (!m) throw bad('expected CONTAINER:HOST[:SIZE] in decimal');
  const map = { containerID: Number(m[1]), hostID: Number(m[2]), size: m[3] === undefined ? 1 : Number(m[3]) };
  checkOne(map, bad);
  return map;
}

function checkOne(m: IdMap, bad: (why: string) => Error): void {
  for (const k of ['containerID', 'hostID', 'size'] as const) {
    if (!Number.isSafeInteger(m[k]) || m[k] < 0) throw bad(`${k} must be a non-negative integer`);
  }
  if (m.size < 1) throw bad('size must be at least 1');
  if (m.containerID + m.size > ID_SPACE || m.hostID + m.size > ID_SPACE) throw bad('range goes past 4294967295');
}

function describe(m: IdMap): string {
  return `${m.containerID}:${m.hostID}:${m.size}`;
}

/** Check a whole uid or gid map list; throws EUSAGE naming the offending entry. */
export function checkIdMaps(maps: readonly IdMap[], what: 'uid' | 'gid'): void {
  if (maps.length > SPEC_LIMITS.idMapEntries) {
    throw new OciBundleError('EUSAGE', `${what} map has ${maps.length} entries, more than the kernel's ${SPEC_LIMITS.idMapEntries}`);
  }
  for (const m of maps) checkOne(m, (why) => new OciBundleError('EUSAGE', `invalid ${what} map ${describe(m)}: ${why}`));
  for (const side of ['containerID', 'hostID'] as const) {
    const sorted = [...maps].sort((a, b) => a[side] - b[side]);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      const cur = sorted[i]!;
      if (prev[side] + prev.size > cur[side]) {
        throw new OciBundleError('EUSAGE', `${what} maps ${describe(prev)} and ${describe(cur)} overlap on the ${side === 'hostID' ? 'host' : 'container'} side`);
      }
    }
  }
}

/** Whether a container id is covered by one of the maps. */
export function isMapped(maps: readonly IdMap[], id: number): boolean {
  return maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
}
