// The layer-store commands: `store ls|du|gc|verify [--store DIR]`, and `mount` / `umount` of
// overlay bundles. Parses arguments, calls src/store, prints (data on stdout, JSON with --json).
import type { Argv, CommandModule } from 'yargs';
import { OciBundleError } from '../errors.js';
import { printData, printJson, printMessage } from './output.js';

interface StoreArgs {
  store?: string;
  json: boolean;
  layer?: string;
}

/** `--store` given without a value (or not at all, for the store commands): the default dir. */
export async function storeDirOf(value: string | undefined): Promise<string> {
  const { defaultStoreDir } = await import('../store/paths.js');
  return value === undefined || value === '' ? defaultStoreDir() : value;
}

function storeOpts<T>(y: Argv<T>) {
  return y
    .option('store', { type: 'string', describe: 'the store directory (default $XDG_CACHE_HOME/ocibundle, else ~/.cache/ocibundle)' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON on stdout' });
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

const ls: CommandModule<object, StoreArgs> = {
  command: 'ls',
  describe: 'list the layers in the store: id, size, last use, bundles using it',
  builder: (y) => storeOpts(y) as unknown as Argv<StoreArgs>,
  handler: async (a) => {
    const { storeList } = await import('../store/admin.js');
    const list = storeList(await storeDirOf(a.store));
    if (a.json) return printJson(list);
    for (const l of list) printData(`${l.id}\t${mib(l.bytes)}\t${l.lastUse ?? '-'}\t${l.bundles} bundle(s)${l.complete ? '' : '\tINCOMPLETE'}`);
  },
};

const du: CommandModule<object, StoreArgs> = {
  command: 'du',
  describe: 'total disk use of the store',
  builder: (y) => storeOpts(y) as unknown as Argv<StoreArgs>,
  handler: async (a) => {
    const { storeDu } = await import('../store/admin.js');
    const r = storeDu(await storeDirOf(a.store));
    if (a.json) printJson(r);
    else printData(`${r.bytes}\t${r.layers} layer(s)\t${mib(r.bytes)}`);
  },
};

const gc: CommandModule<object, StoreArgs> = {
  command: 'gc',
  describe: 'remove layers no live bundle references, and leftovers of interrupted extractions',
  builder: (y) => storeOpts(y) as unknown as Argv<StoreArgs>,
  handler: async (a) => {
    const { storeGc } = await import('../store/admin.js');
    const r = await storeGc(await storeDirOf(a.store));
    if (a.json) printJson(r);
    else printMessage(`store gc: removed ${r.removed.length}, kept ${r.kept}, freed ${mib(r.freedBytes)}`);
  },
};

const verify: CommandModule<object, StoreArgs> = {
  command: 'verify [layer]',
  describe: "check one layer (ALG/HEX or a hex prefix) or all against the content manifest recorded at extraction; exit 4 on any problem",
  builder: (y) => storeOpts(y).positional('layer', { type: 'string', describe: 'the layer to check (default: all)' }) as unknown as Argv<StoreArgs>,
  handler: async (a) => {
    const { storeVerify } = await import('../store/admin.js');
    const r = storeVerify(await storeDirOf(a.store), a.layer);
    if (a.layer !== undefined && r.length === 0) throw new OciBundleError('ENOBLOB', `no layer ${a.layer} in the store`);
    if (a.json) printJson(r);
    else for (const v of r) for (const p of v.ok ? ['ok'] : v.problems) printData(`${v.id}\t${p}`);
    const bad = r.filter((v) => !v.ok).length;
    if (bad > 0) throw new OciBundleError('EINVALID', `${bad} layer(s) differ from their manifests`);
  },
};

export const storeCommand: CommandModule<object, object> = {
  command: 'store <command>',
  describe: 'the layer store: ls, du, gc, verify',
  builder: (y) => y.command(ls as never).command(du as never).command(gc as never).command(verify as never).demandCommand(1, 'name a store command: ls, du, gc or verify'),
  handler: () => {},
};

interface BundleArgs {
  bundle: string;
}

export const mountCommand: CommandModule<object, BundleArgs> = {
  command: 'mount <bundle>',
  describe: 'mount the rootfs of an overlay bundle again (after umount or a reboot), from what the bundle recorded',
  builder: (y) => y.positional('bundle', { type: 'string', demandOption: true }) as unknown as Argv<BundleArgs>,
  handler: async (a) => {
    const { mountBundle, readRecord } = await import('../store/overlay.js');
    mountBundle(a.bundle, readRecord(a.bundle));
  },
};

export const umountCommand: CommandModule<object, BundleArgs> = {
  command: 'umount <bundle>',
  describe: "unmount an overlay bundle's rootfs and remove its upper data (the container's writes)",
  builder: (y) => y.positional('bundle', { type: 'string', demandOption: true }) as unknown as Argv<BundleArgs>,
  handler: async (a) => {
    const { umountBundle } = await import('../store/overlay.js');
    umountBundle(a.bundle);
  },
};
