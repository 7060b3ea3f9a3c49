// Cross-field rules a runtime enforces on config.json that a JSON schema cannot say, taken
// from youki's validator (hostname needs a UTS namespace, id maps need a user namespace and
// the reverse, masked/readonly paths need a mount namespace, mount uid=/gid= options must be
// mapped) and runc's equivalents. Pure: returns the first violation as text, or null.
import { isMapped } from './idmap.js';
import type { IdMap } from './types.js';

interface Loose {
  hostname?: unknown;
  mounts?: { destination?: unknown; options?: unknown }[];
  linux?: {
    namespaces?: { type?: unknown; path?: unknown }[];
    uidMappings?: IdMap[];
    gidMappings?: IdMap[];
    maskedPaths?: unknown[];
    readonlyPaths?: unknown[];
  };
}

/** The first rule `spec` (already schema-valid) breaks, or null. */
export function runtimeRuleViolation(specIn: unknown): string | null {
  const spec = specIn as Loose;
  const ns = spec.linux?.namespaces ?? [];
  const has = (t: string) => ns.some((n) => n.type === t);
  const types = ns.map((n) => n.type);
  const dup = types.find((t, i) => types.indexOf(t) !== i);
  if (dup !== undefined) return `namespace ${String(dup)} is listed twice`;
  if (spec.hostname !== undefined && spec.hostname !== '' && !has('uts')) return 'hostname is set but there is no uts namespace';
  const uidMaps = spec.linux?.uidMappings ?? [];
  const gidMaps = spec.linux?.gidMappings ?? [];
  const newUserNs = ns.some((n) => n.type === 'user' && (n.path === undefined || n.path === ''));
  if (!has('user') && (uidMaps.length > 0 || gidMaps.length > 0)) return 'uid or gid mappings are set but there is no user namespace';
  if (newUserNs && (uidMaps.length === 0 || gidMaps.length === 0)) return 'a new user namespace needs both uidMappings and gidMappings';
  if (!has('mount') && ((spec.linux?.maskedPaths?.length ?? 0) > 0 || (spec.linux?.readonlyPaths?.length ?? 0) > 0)) {
    return 'maskedPaths or readonlyPaths are set but there is no mount namespace';
  }
  if (newUserNs) {
    for (const m of spec.mounts ?? []) {
      const opts = Array.isArray(m.options) ? (m.options as unknown[]) : [];
      for (const o of opts) {
        if (typeof o !== 'string') continue;
        const id = /^(uid|gid)=([0-9]+)$/.exec(o);
        if (id && !isMapped(id[1] === 'uid' ? uidMaps : gidMaps, Number(id[2]))) {
          return `mount ${String(m.destination)} has option ${o}, which the ${id[1]} map does not cover`;
        }
      }
    }
  }
  return null;
}
