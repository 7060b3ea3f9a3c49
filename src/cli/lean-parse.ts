// The lean parser: a command line in the plain shapes people type (`unpack --image L:T B`,
// `ls --layout L`, `raw unpack ...`, flags with values, --no-FLAG) parsed for one command
// module without loading yargs. The command's own yargs builder runs against a recorder, so
// options are declared once; anything it does not know for sure (help, unknown flags, missing
// values, numbers) gives null, and the caller leaves the line to yargs. Used by lean.ts (all
// commands) and layout-main.ts (the layout commands' own bundle).
import type { CommandModule } from 'yargs';

interface OptionSpec {
  type?: 'string' | 'boolean' | 'number';
  default?: unknown;
  array?: boolean;
  demandOption?: boolean | string;
  requiresArg?: boolean;
  choices?: readonly unknown[];
  describe?: string;
}
const KNOWN_SPEC = new Set(['type', 'default', 'array', 'demandOption', 'requiresArg', 'choices', 'describe']);

/** Thrown inside the recorder or parser: this line is yargs's to parse. */
class NotLean extends Error {}

interface Declared {
  options: Map<string, OptionSpec>;
  positionals: Map<string, OptionSpec>;
  conflicts: [string, string][];
  subcommands: CommandModule<any, any>[];
}

/** What a builder declares, through the few Argv methods the commands use; others bail out. */
function declare(builder: CommandModule['builder']): Declared {
  const d: Declared = { options: new Map(), positionals: new Map(), conflicts: [], subcommands: [] };
  const take = (map: Map<string, OptionSpec>, name: string, spec: OptionSpec): void => {
    for (const k of Object.keys(spec)) if (!KNOWN_SPEC.has(k)) throw new NotLean(`option key ${k}`);
    if (name.includes('.')) throw new NotLean('dotted option');
    map.set(name, spec);
  };
  const rec: Record<string, unknown> = {
    option: (name: string, spec: OptionSpec) => (take(d.options, name, spec), proxy),
    positional: (name: string, spec: OptionSpec) => (take(d.positionals, name, spec), proxy),
    conflicts: (a: string, b: string) => (d.conflicts.push([a, b]), proxy),
    command: (m: CommandModule<any, any>) => (d.subcommands.push(m), proxy),
    demandCommand: () => proxy,
    usage: () => proxy,
    group: () => proxy,
    epilogue: () => proxy,
  };
  const proxy: object = new Proxy(rec, {
    get(target, key) {
      if (typeof key === 'string' && key in target) return target[key];
      throw new NotLean(`builder uses ${String(key)}`);
    },
  });
  if (typeof builder !== 'function') throw new NotLean('builder is not a function');
  builder(proxy as never);
  return d;
}

const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function set(out: Record<string, unknown>, name: string, v: unknown): void {
  out[name] = v;
  const c = camel(name);
  if (c !== name) out[c] = v;
}

/** The positional names of a command string: `tag <new-tag>` -> [['new-tag', true]]. */
function positionalsOf(command: string): [string, boolean][] {
  return command
    .split(' ')
    .slice(1)
    .map((w): [string, boolean] => {
      const m = /^(<|\[)([a-z][a-z0-9-]*)(>|\])$/.exec(w);
      if (!m) throw new NotLean(`positional ${w}`);
      return [m[2]!, m[1] === '<'];
    });
}

/** The command a line runs and the arguments yargs would hand its handler, or NotLean. */
function parseLine(path: string[], words: string[], cmd: CommandModule<any, any>): LeanRun {
  const d = declare(cmd.builder);
  if (d.subcommands.length > 0) {
    // `raw unpack ...`: the next word names the subcommand; the parent may declare nothing else
    if (d.options.size > 0 || d.positionals.size > 0 || d.conflicts.length > 0) throw new NotLean('options on a parent command');
    const word = words[0];
    const sub = d.subcommands.find((s) => typeof s.command === 'string' && (s.command.split(' ')[0] === word || ((s.aliases as string[] | undefined) ?? []).includes(word!)));
    if (word === undefined || sub === undefined) throw new NotLean('subcommand');
    return parseLine([...path, word], words.slice(1), sub);
  }
  const slots = positionalsOf(typeof cmd.command === 'string' ? cmd.command : '');
  const given = new Map<string, unknown>();
  const positional: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('-') || w === '-') {
      positional.push(w);
      continue;
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(w);
    if (!m) throw new NotLean(`flag ${w}`);
    let flag = m[1]!;
    let inline = m[2];
    let spec = d.options.get(flag);
    if (spec === undefined && flag.startsWith('no-') && inline === undefined && d.options.get(flag.slice(3))?.type === 'boolean') {
      flag = flag.slice(3);
      spec = d.options.get(flag)!;
      inline = 'false';
    }
    if (spec === undefined) throw new NotLean(`unknown ${w}`);
    if (given.has(flag) && !spec.array) throw new NotLean(`repeated ${w}`);
    let value: unknown;
    if (spec.type === 'boolean') {
      if (inline === undefined || inline === 'true') value = true;
      else if (inline === 'false') value = false;
      else throw new NotLean(`boolean ${w}`);
    } else if (spec.type === 'string') {
      if (inline === undefined) {
        const next = words[i + 1];
        if (next === undefined || (next.startsWith('-') && next !== '-')) throw new NotLean(`no value for ${w}`);
        inline = next;
        i++;
      }
      if (inline === '' || (spec.choices && !spec.choices.includes(inline))) throw new NotLean(`value of ${w}`);
      value = inline;
    } else throw new NotLean(`type of ${w}`);
    if (spec.array) given.set(flag, [...((given.get(flag) as unknown[]) ?? []), value]);
    else given.set(flag, value);
  }
  if (positional.length !== slots.length) throw new NotLean('positional count');
  for (const [a, b] of d.conflicts) if (given.has(a) && given.has(b)) throw new NotLean('conflict');
  const out: Record<string, unknown> = { _: path };
  for (const [opt, spec] of d.options) {
    if (given.has(opt)) set(out, opt, given.get(opt));
    else if (spec.demandOption) throw new NotLean(`missing --${opt}`);
    else if (spec.default !== undefined) set(out, opt, spec.default);
  }
  slots.forEach(([p], i) => {
    // undeclared or untyped positionals are parsed as numbers by yargs
    if (d.positionals.get(p)?.type !== 'string') throw new NotLean(`positional ${p} type`);
    set(out, p, positional[i]);
  });
  out['$0'] = 'ocibundle';
  return { command: cmd, args: out };
}

export interface LeanRun {
  command: CommandModule<any, any>;
  args: Record<string, unknown>;
}

/** The arguments yargs would hand `command`'s handler for `words` typed after `name`; null when the line needs yargs. */
export function parseLean(name: string, words: readonly string[], command: CommandModule<any, any>): LeanRun | null {
  try {
    return parseLine([name], [...words], command);
  } catch (e) {
    if (e instanceof NotLean) return null;
    throw e;
  }
}
