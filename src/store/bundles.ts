// Which bundles use which store layers: each overlay bundle registers itself in
// STORE/bundles/ before it is mounted and records the same id in BUNDLE/.ocibundle/overlay.json.
// A registration is live while that record exists (or its creating process runs); `store gc`
// keeps every layer a live registration names. Registration files only; no mounting here.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive } from '../host/owner.js';
import { createTempFileSync } from '../host/temp.js';

export interface Registration {
  id: string;
  bundle: string;
  /** Layer entries as `ALG/NAME` under STORE/layers. */
  layers: string[];
  pid: number;
  created: string;
}

export const BUNDLE_META_DIR = '.ocibundle';
export const BUNDLE_RECORD = 'overlay.json';

export function registrationPath(store: string, bundle: string): string {
  return join(store, 'bundles', `${createHash('sha256').update(bundle).digest('hex').slice(0, 32)}.json`);
}

export function register(store: string, bundle: string, layers: string[]): Registration {
  const r: Registration = { id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`, bundle, layers, pid: process.pid, created: new Date().toISOString() };
  const path = registrationPath(store, bundle);
  const { path: tmp, fd } = createTempFileSync(join(store, 'bundles'), 'registration', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(r)}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return r;
}

export function unregister(store: string, r: Registration): void {
  const path = registrationPath(store, r.bundle);
  try {
    const cur = JSON.parse(readFileSync(path, 'utf8')) as Registration;
    if (cur.id === r.id) rmSync(path, { force: true });
  } catch {
    /* already gone */
  }
}

/** Every registration, each marked live or not; unreadable files count as dead. */
export function registrations(store: string): { path: string; reg: Registration | null; live: boolean }[] {
  const dir = join(store, 'bundles');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .map((n) => {
      const path = join(dir, n);
      let reg: Registration | null = null;
      try {
        reg = JSON.parse(readFileSync(path, 'utf8')) as Registration;
      } catch {
        return { path, reg, live: false };
      }
      return { path, reg, live: recordNames(reg) || pidAlive(reg.pid) };
    });
}

/** True when the bundle's own record carries this registration's id. */
function recordNames(reg: Registration): boolean {
  try {
    const rec = JSON.parse(readFileSync(join(reg.bundle, BUNDLE_META_DIR, BUNDLE_RECORD), 'utf8')) as { id?: string };
    return rec.id === reg.id;
  } catch {
    return false;
  }
}
