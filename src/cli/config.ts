// `ocibundle config --image PATH[:TAG] [--tag NEW]`: umoci's --config.*, --clear, --author,
// --created, --os, --architecture (and --platform.os/arch/variant), --manifest.annotation
// and --history.* flags. yargs reads the dotted flags as nested objects; this file maps them.
import { HISTORY_GROUP, HISTORY_OPTIONS, withHelp } from './usage.js';
import type { Argv, CommandModule } from 'yargs';
import { withSignals } from './signals.js';
import { OciBundleError } from '../errors.js';
import type { ConfigEdits } from '../build/config-edit.js';
import { commonOptionsOf, historyOptions, type HistoryArgs } from './build-options.js';
import { printData } from './output.js';

interface ConfigArgs extends HistoryArgs {
  image: string;
  tag?: string;
  config?: Record<string, unknown>;
  platform?: Record<string, unknown>;
  manifest?: Record<string, unknown>;
  clear: string[];
  author?: string;
  created?: string;
  os?: string;
  architecture?: string;
}

const list = { type: 'string', array: true, requiresArg: true } as const;
const one = { type: 'string', requiresArg: true } as const;

function str(v: unknown, flag: string): string | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) v = v[v.length - 1];
  if (typeof v !== 'string') throw new OciBundleError('EUSAGE', `${flag} takes a value`);
  return v;
}

function strs(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).map(String);
}

export function configEditsOf(a: ConfigArgs): ConfigEdits {
  const c = a.config ?? {};
  const p = a.platform ?? {};
  const e: ConfigEdits = { clear: a.clear };
  const set = <K extends keyof ConfigEdits>(k: K, v: ConfigEdits[K] | undefined) => {
    if (v !== undefined) e[k] = v;
  };
  set('user', str(c['user'], '--config.user'));
  set('workingDir', str(c['workingdir'], '--config.workingdir'));
  set('stopSignal', str(c['stopsignal'], '--config.stopsignal'));
  set('exposedPorts', strs(c['exposedports']));
  set('env', strs(c['env']));
  set('entrypoint', strs(c['entrypoint']));
  set('cmd', strs(c['cmd']));
  set('volumes', strs(c['volume']));
  set('labels', strs(c['label']));
  set('created', a.created);
  set('author', a.author);
  set('os', str(p['os'], '--platform.os') ?? a.os);
  set('architecture', str(p['arch'], '--platform.arch') ?? a.architecture);
  set('variant', str(p['variant'], '--platform.variant'));
  set('manifestAnnotations', strs(a.manifest?.['annotation']));
  return e;
}

export const configCommand: CommandModule<object, ConfigArgs> = {
  command: 'config',
  describe: "change an image's config (user, env, entrypoint, cmd, labels, ...) and move the tag",
  builder: (y: Argv) =>
    withHelp(
      historyOptions(y)
      .option('image', { ...one, demandOption: true, describe: 'PATH[:TAG] of the image to change' })
      .option('tag', { ...one, describe: 'write the result under this tag (default: the --image tag)' })
      // yargs reads the dotted flags into these objects; declared so strict mode knows them
      .option('config', { hidden: true })
      .option('platform', { hidden: true })
      .option('manifest', { hidden: true })
      .option('config.user', { ...one, describe: 'Config.User' })
      .option('config.exposedports', { ...list, describe: 'add an exposed port (repeatable)' })
      .option('config.env', { ...list, describe: 'set KEY=VALUE in Config.Env (repeatable)' })
      .option('config.entrypoint', { ...list, describe: 'Config.Entrypoint, one argument per flag' })
      .option('config.cmd', { ...list, describe: 'Config.Cmd, one argument per flag' })
      .option('config.volume', { ...list, describe: 'add a volume (repeatable)' })
      .option('config.label', { ...list, describe: 'set KEY=VALUE in Config.Labels (repeatable)' })
      .option('config.workingdir', { ...one, describe: 'Config.WorkingDir' })
      .option('config.stopsignal', { ...one, describe: 'Config.StopSignal' })
      .option('created', { ...one, describe: 'the config created time (RFC 3339)' })
      .option('author', { ...one, describe: 'the config author' })
      .option('os', { ...one, describe: 'the config os' })
      .option('architecture', { ...one, describe: 'the config architecture' })
      .option('platform.os', { ...one, describe: 'the config os' })
      .option('platform.arch', { ...one, describe: 'the config architecture' })
      .option('platform.variant', { ...one, describe: 'the config variant' })
      .option('manifest.annotation', { ...list, describe: 'set KEY=VALUE in the manifest annotations (repeatable)' })
      .option('clear', { ...list, default: [], describe: 'clear first: config.labels, manifest.annotations, config.exposedports, config.env, config.volume, config.entrypoint, config.cmd' }),
      'config',
      {
        describe: "Change an image's config (user, env, entrypoint, cmd, labels, ...) and move the tag, as umoci config.",
        options: ['image', 'tag', 'config.user', 'config.env', 'config.entrypoint', 'config.cmd', 'config.workingdir', 'clear'],
        groups: { [HISTORY_GROUP]: HISTORY_OPTIONS },
        examples: [
          ['config --image img:base --config.cmd /bin/sh --tag v1', 'a new config and manifest under img:v1'],
          ['config --image img --clear config.env --config.env A=1', 'replace the whole environment'],
        ],
      },
    ) as unknown as Argv<ConfigArgs>,
  handler: async (a) => {
    const { configImage } = await import('../build/image-ops.js');
    printData(await withSignals((signal) => configImage({ ...commonOptionsOf(a), edits: configEditsOf(a), signal })));
  },
};
