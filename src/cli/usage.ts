// The usage line of every command (shown by --help and after a usage error), the layout of
// each command's help (options by importance, then groups, examples that fit 80 columns), and
// the translation of yargs's parse failures into one EUSAGE line that says what is wrong and
// how the command is called. The options and examples themselves are the commands' own.
import type { Argv } from 'yargs';
import { OciBundleError } from '../errors.js';

/** Command path -> its synopsis, required options first. */
export const SYNOPSIS: Record<string, string> = {
  unpack: 'unpack --image IMAGE [options] BUNDLE',
  raw: 'raw unpack|runtime-config|add-layer --image IMAGE [options] TARGET',
  'raw unpack': 'raw unpack --image IMAGE [options] ROOTFS',
  'raw runtime-config': 'raw runtime-config --image IMAGE [--rootfs DIR] [options] CONFIG',
  copy: 'copy [options] SRC DEST',
  init: 'init --layout PATH',
  ls: 'ls --layout PATH [--json]',
  tag: 'tag --image PATH[:TAG] [options] NEW-TAG',
  rm: 'rm --image PATH[:TAG]',
  stat: 'stat --image IMAGE [options]',
  gc: 'gc --layout PATH [--json]',
  validate: 'validate --layout PATH | --image PATH[:TAG] [options]',
  repack: 'repack --image PATH[:TAG] [options] BUNDLE',
  new: 'new --image PATH:TAG',
  config: 'config --image PATH[:TAG] [options]',
  insert: 'insert --image PATH[:TAG] [options] SOURCE TARGET',
  'raw add-layer': 'raw add-layer --image PATH[:TAG] [options] LAYER',
};

/** The top-level commands, for "name a command". */
const TOP = [...new Set(Object.keys(SYNOPSIS).map((k) => k.split(' ')[0]!))];

export interface HelpLayout {
  describe: string;
  /** The main options, most important first (the others follow them in `Options:`). */
  options: string[];
  /** Further groups, in order: title -> option names. */
  groups?: Record<string, string[]>;
  /** [command line without `ocibundle `, what it does]; at least two. */
  examples: [string, string][];
}

/** `Examples:` as an epilogue: `$ ocibundle CMD` then its description indented, both within 80 columns. */
export function examplesText(examples: [string, string][]): string {
  const lines = ['Examples:'];
  for (const [cmd, what] of examples) {
    lines.push(`  $ ocibundle ${cmd}`);
    if (what) lines.push(`      ${what}`);
  }
  return lines.join('\n');
}

/** The history flags of the image-writing commands, a help group of their own. */
export const HISTORY_GROUP = 'History options:';
export const HISTORY_OPTIONS = ['history', 'history.author', 'history.comment', 'history.created', 'history.created_by'];

/** Applies a command's help layout: usage line with required options, option order, groups, examples. */
export function withHelp<T>(y: Argv<T>, path: string, h: HelpLayout): Argv<T> {
  let out = y.usage(`$0 ${SYNOPSIS[path] ?? path}\n\n${h.describe}`).group(h.options, 'Options:');
  for (const [title, names] of Object.entries(h.groups ?? {})) out = out.group(names, title);
  return out.group(['help', 'version'], 'General:').epilogue(examplesText(h.examples));
}

/** The command a command line names (`raw unpack`, `ls`), if any, from its leading words. */
function commandOf(argv: string[]): string | undefined {
  const words = argv.filter((a) => !a.startsWith('-'));
  const two = words.slice(0, 2).join(' ');
  if (SYNOPSIS[two] !== undefined) return two;
  return words[0] !== undefined && SYNOPSIS[words[0]] !== undefined ? words[0] : undefined;
}

/** yargs's message, said as ocibundle says things. */
function translate(msg: string, cmd: string | undefined, argv: string[]): string {
  let m: RegExpExecArray | null;
  if ((m = /^Unknown arguments?: (.*)$/.exec(msg))) {
    const names = m[1]!.split(', ');
    const flags = names.map((n) => argv.find((a) => a.replace(/^-+/, '').split('=')[0] === n) ?? n);
    return `unknown ${flags.every((f) => f.startsWith('-')) ? 'option' : 'argument'}${names.length > 1 ? 's' : ''} ${flags.join(', ')}`;
  }
  if ((m = /^Missing required arguments?: (.*)$/.exec(msg))) return `missing ${m[1]!.split(', ').map((n) => `--${n}`).join(', ')}`;
  if (/^Not enough non-option arguments/.test(msg)) {
    return cmd === undefined || cmd === 'raw' ? `name a ${cmd === 'raw' ? 'raw ' : ''}command` : `missing ${SYNOPSIS[cmd]!.split(' ').pop()}`;
  }
  if ((m = /^Did you mean (.*)\?$/.exec(msg))) return `unknown command ${argv.find((a) => !a.startsWith('-'))}; did you mean ${m[1]}?`;
  if (msg === '') {
    if (cmd === 'raw') return 'name a raw command: unpack, runtime-config or add-layer';
    const flag = argv.find((a) => a.startsWith('-'));
    return flag !== undefined ? `unknown option ${flag}` : 'name a command';
  }
  return msg.charAt(0).toLowerCase() + msg.slice(1);
}

/** EUSAGE for a parse failure, with the usage line of the command as its hint. */
export function usageError(msg: string, argv: string[]): OciBundleError {
  const cmd = commandOf(argv);
  const hint = cmd !== undefined ? `usage: ocibundle ${SYNOPSIS[cmd]}` : `commands: ${TOP.join(', ')}; see ocibundle --help`;
  return new OciBundleError('EUSAGE', translate(msg, cmd, argv), { hint });
}
