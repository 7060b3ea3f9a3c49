// The layer-store rows of `npm run bench` (issue 12): 100 overlay bundles of debian after the
// first (median per bundle against `node -e 0`, disk use of the 100 against one flattened
// rootfs), the first unpack of big into an empty store against a flattened unpack, and a warm
// `--store` unpack without overlay against a cold flattened one. Every figure is a ratio of
// two measurements of the same run, taken alternately; every mount is undone in finally.
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { shq } from './cases.js';
import { clearTree, unmountUnder } from './clear-tree.js';
import { run } from './proc.js';
import { resetOutput, timeScript, type Timer } from './runner.js';
import { median, ratio } from './stats.js';

export interface StoreRow {
  id: string;
  what: string;
  value: number | null;
  baseline: number | null;
  ratio: number | null;
  target: string;
  met: boolean | null;
  unit: 's' | 'bytes';
}

const log = (s: string): void => void process.stderr.write(`bench: store: ${s}\n`);

async function timeMany(script: string, n: number, timer: Timer, before?: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 1; i <= n; i++) {
    if (before) await before();
    const s = await timeScript(script, i, timer);
    if (s.rc !== 0) throw new Error(`${script.slice(0, 120)} failed (rc ${s.rc}): ${s.errorTail ?? ''}`);
    out.push(s.wallS);
  }
  return out;
}

/** `du -sxB1` of the paths (same file system only: an overlay mount inside is not counted). */
function diskUse(paths: string[]): number {
  const r = spawnSync('du', ['-sxcB1', ...paths], { encoding: 'utf8' });
  const total = r.stdout.trim().split('\n').pop()?.split(/\s+/)[0];
  return Number(total ?? NaN);
}

function row(id: string, what: string, value: number | null, baseline: number | null, max: number, unit: 's' | 'bytes'): StoreRow {
  const r = ratio(value, baseline);
  return { id, what, value, baseline, ratio: r, target: `<= ${max}x`, met: r === null ? null : r <= max, unit };
}

export async function benchStore(root: string, layouts: { debian: string; big: string | null }, ob: string, runs: number, timer: Timer): Promise<StoreRow[]> {
  const dir = join(root, 'store-bench');
  await clearTree(root, dir); // a killed earlier run can have left bundles mounted here
  await mkdir(dir, { recursive: true });
  const rows: StoreRow[] = [];
  const o = shq(ob);
  try {
    // 1. 100 overlay bundles of debian after the first
    const store = join(dir, 'store');
    const deb = shq(`${layouts.debian}:latest`);
    log('first overlay bundle of debian (fills the store)');
    await timeMany(`${o} unpack --store=${shq(store)} --overlay --image ${deb} ${shq(join(dir, 'b', 'first'))}`, 1, timer);
    // node's bare start-up, as the start-up group's floor (the launcher defers NODE_EXTRA_CA_CERTS)
    const nodeRuns = await timeMany(`unset NODE_EXTRA_CA_CERTS; exec ${shq(process.execPath)} -e 0`, 21, timer);
    const per: number[] = [];
    for (let i = 0; i < 100; i++) {
      const s = await timeScript(`${o} unpack --store=${shq(store)} --overlay --image ${deb} ${shq(join(dir, 'b', `b${i}`))}`, i + 1, timer);
      if (s.rc !== 0) throw new Error(`overlay bundle ${i} failed: ${s.errorTail ?? ''}`);
      per.push(s.wallS);
    }
    log(`100 overlay bundles: median ${median(per)?.toFixed(3)} s, node -e 0 ${median(nodeRuns)?.toFixed(3)} s`);
    rows.push(row('overlay-bundle', '1 of 100 overlay bundles of debian (CLI process) vs `node -e 0`', median(per), median(nodeRuns), 1.5, 's'));
    const flat = join(dir, 'flat');
    await timeMany(`${o} raw unpack --image ${deb} ${shq(flat)}`, 1, timer);
    const bundles = Array.from({ length: 100 }, (_, i) => join(dir, 'b', `b${i}`));
    rows.push(row('overlay-disk', 'disk use of the 100 bundles (upper dirs, config.json) vs one flattened rootfs', diskUse(bundles), diskUse([flat]), 0.05, 'bytes'));
    await clearTree(dir, join(dir, 'b'));
    await clearTree(dir, flat);

    // 2. big into an empty store (overlay) vs flattened, alternating
    if (layouts.big) {
      const big = shq(`${layouts.big}:latest`);
      const out = join(dir, 'out');
      const emptyStore = join(dir, 'store-big');
      const reset = async () => {
        await clearTree(dir, out); // an overlay bundle's rootfs is mounted there
        await clearTree(dir, emptyStore);
        await resetOutput(out);
      };
      const flatT: number[] = [];
      const storeT: number[] = [];
      for (let i = 0; i < runs; i++) {
        // each until its data is on disk: the store flushes its entries before their markers
        // (syncfs), the flattened unpack leaves that to the kernel, so both end with `sync`
        flatT.push(...(await timeMany(`${o} unpack --image ${big} ${shq(out)} && sync`, 1, timer, reset)));
        storeT.push(...(await timeMany(`${o} unpack --store=${shq(emptyStore)} --overlay --image ${big} ${shq(out)} && sync`, 1, timer, reset)));
        log(`big run ${i + 1}: flattened ${flatT[i]!.toFixed(2)} s, empty store + overlay ${storeT[i]!.toFixed(2)} s`);
      }
      await reset();
      rows.push(row('big-empty-store', 'first unpack of big into an empty store (--overlay) vs flattened unpack, each + `sync`', median(storeT), median(flatT), 1, 's'));
    }

    // 3. debian: warm --store without overlay vs cold flattened
    const out = join(dir, 'out');
    const warmT: number[] = [];
    const coldT: number[] = [];
    for (let i = 0; i < runs; i++) {
      coldT.push(...(await timeMany(`${o} raw unpack --image ${deb} ${shq(out)}`, 1, timer, () => resetOutput(out))));
      warmT.push(...(await timeMany(`${o} raw unpack --store=${shq(store)} --image ${deb} ${shq(out)}`, 1, timer, () => resetOutput(out))));
      log(`debian run ${i + 1}: cold flattened ${coldT[i]!.toFixed(2)} s, warm --store ${warmT[i]!.toFixed(2)} s`);
    }
    await resetOutput(out);
    rows.push(row('warm-store-copy', 'warm `raw unpack --store` (no overlay) of debian vs cold flattened raw unpack', median(warmT), median(coldT), 0.5, 's'));
  } finally {
    await unmountUnder(dir);
    await run('sync', []).catch(() => undefined);
    await clearTree(root, dir);
  }
  return rows;
}

export function renderStoreRows(rows: readonly StoreRow[]): string {
  const fmt = (v: number | null, unit: 's' | 'bytes') => (v === null ? '-' : unit === 's' ? `${v.toFixed(3)} s` : `${(v / 1048576).toFixed(1)} MiB`);
  const lines = ['| store case | value | baseline | ratio | target | met |', '|---|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.what} | ${fmt(r.value, r.unit)} | ${fmt(r.baseline, r.unit)} | ${r.ratio === null ? '-' : `${r.ratio.toFixed(3)}x`} | ${r.target} | ${r.met === null ? '-' : r.met ? 'yes' : 'NO'} |`);
  return lines.join('\n');
}
