// The edits of `config` (umoci's flags) as a pure function over an image config and its
// manifest: --clear first, then each --config.* / --author / --created / --os /
// --architecture / --platform.* / --manifest.annotation. Values are checked here (EUSAGE).
import { OciBundleError } from '../errors.js';
import type { ImageConfig, ImageConfigConfig, Manifest } from '../image/index.js';
import { checkRfc3339 } from './history.js';

export interface ConfigEdits {
  clear?: string[];
  user?: string;
  exposedPorts?: string[];
  env?: string[];
  entrypoint?: string[];
  cmd?: string[];
  volumes?: string[];
  labels?: string[];
  workingDir?: string;
  stopSignal?: string;
  created?: string;
  author?: string;
  os?: string;
  architecture?: string;
  variant?: string;
  manifestAnnotations?: string[];
}

/** What --clear accepts, as umoci spells it. */
export const CLEARABLE = ['config.labels', 'manifest.annotations', 'config.exposedports', 'config.env', 'config.volume', 'config.entrypoint', 'config.cmd'] as const;

function keyValue(s: string, flag: string): [string, string] {
  const i = s.indexOf('=');
  if (i <= 0) throw new OciBundleError('EUSAGE', `${flag} ${JSON.stringify(s)} is not KEY=VALUE`);
  return [s.slice(0, i), s.slice(i + 1)];
}

export function applyConfigEdits(config: ImageConfig, manifest: Manifest, e: ConfigEdits): void {
  const c: ImageConfigConfig = { ...(config.config ?? {}) };
  for (const what of e.clear ?? []) {
    switch (what) {
      case 'config.labels': delete c.Labels; break;
      case 'manifest.annotations': delete manifest.annotations; break;
      case 'config.exposedports': delete c.ExposedPorts; break;
      case 'config.env': delete c.Env; break;
      case 'config.volume': delete c.Volumes; break;
      case 'config.entrypoint': delete c.Entrypoint; break;
      case 'config.cmd': delete c.Cmd; break;
      default:
        throw new OciBundleError('EUSAGE', `--clear ${JSON.stringify(what)}: expected one of ${CLEARABLE.join(', ')}`);
    }
  }
  if (e.user !== undefined) c.User = e.user;
  if (e.workingDir !== undefined) c.WorkingDir = e.workingDir;
  if (e.stopSignal !== undefined) c.StopSignal = e.stopSignal;
  if (e.exposedPorts?.length) c.ExposedPorts = { ...(c.ExposedPorts ?? {}), ...Object.fromEntries(e.exposedPorts.map((p) => [p, {}])) };
  if (e.volumes?.length) c.Volumes = { ...(c.Volumes ?? {}), ...Object.fromEntries(e.volumes.map((v) => [v, {}])) };
  if (e.labels?.length) c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(e.labels.map((l) => keyValue(l, '--config.label'))) };
  if (e.env?.length) {
    const env = [...(c.Env ?? [])];
    for (const kv of e.env) {
      const [k] = keyValue(kv, '--config.env');
      const at = env.findIndex((x) => x.split('=', 1)[0] === k);
      if (at >= 0) env[at] = kv;
      else env.push(kv);
    }
    c.Env = env;
  }
  if (e.entrypoint?.length) c.Entrypoint = [...e.entrypoint];
  if (e.cmd?.length) c.Cmd = [...e.cmd];
  config.config = c;
  if (e.created !== undefined) config.created = checkRfc3339(e.created, '--created');
  if (e.author !== undefined) config.author = e.author;
  if (e.os !== undefined) config.os = e.os;
  if (e.architecture !== undefined) config.architecture = e.architecture;
  if (e.variant !== undefined) config.variant = e.variant;
  if (e.manifestAnnotations?.length) {
    manifest.annotations = { ...(manifest.annotations ?? {}), ...Object.fromEntries(e.manifestAnnotations.map((a) => keyValue(a, '--manifest.annotation'))) };
  }
}
