// Test helper: runs TarParser over a buffer in chosen chunk sizes and collects entries with
// their data; also a GNU tar `-tv` listing parser for differential tests. Test-only code.
import { spawnSync } from 'node:child_process';
import { TarParser, type TarEntry, type TarParserOptions } from '../../src/layer/tar.js';

export interface Collected extends TarEntry {
  data: Buffer;
}

export interface CollectResult {
  entries: Collected[];
  finished: boolean;
  /** True when every file data chunk was a view into the input buffer (no copies). */
  viewsOnly: boolean;
}

/** Parse `buf`, cut into pieces of `chunk` bytes (default: one piece), then end(). */
export function collect(buf: Buffer, chunk = buf.length || 1, opts?: TarParserOptions): CollectResult {
  const entries: Collected[] = [];
  let parts: Buffer[] = [];
  let viewsOnly = true;
  let cur: TarEntry | null = null;
  const p = new TarParser(
    {
      onEntry(e) {
        if (cur) throw new Error(`onEntry(${e.name}) before onEntryEnd of ${cur.name}`);
        cur = e;
        parts = [];
      },
      onData(c) {
        if (!cur) throw new Error('onData outside an entry');
        if (c.buffer !== buf.buffer && !c.every((x) => x === 0)) viewsOnly = false;
        parts.push(Buffer.from(c)); // the parser's views must be copied to be kept
      },
      onEntryEnd() {
        if (!cur) throw new Error('onEntryEnd outside an entry');
        entries.push({ ...cur, data: Buffer.concat(parts) });
        cur = null;
      },
    },
    opts,
  );
  for (let i = 0; i < buf.length; i += chunk) {
    if (p.finished) break;
    p.write(buf.subarray(i, i + chunk));
  }
  p.end();
  return { entries, finished: p.finished, viewsOnly };
}

export interface GnuListing {
  mode: string;
  owner: string;
  size: number;
  name: string;
  link: string | null;
}

/** `tar --numeric-owner -tvf -` over the archive, parsed into fields. */
export function gnuTarList(buf: Buffer, extra: string[] = []): GnuListing[] {
  const r = spawnSync('tar', ['--numeric-owner', '--quoting-style=literal', '-tvf', '-', ...extra], { input: buf, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`gnu tar failed: ${r.stderr.toString()}`);
  const out: GnuListing[] = [];
  for (const line of r.stdout.toString().split('\n')) {
    if (!line) continue;
    // -rw-r--r-- 0/0   2 2023-11-14 22:13 name[ -> target| link to target]
    const m = /^(\S{10})\s+(\d+\/\d+)\s+(\d+|\d+,\s*\d+)\s+\S+\s+\S+\s(.*)$/.exec(line);
    if (!m) throw new Error(`cannot parse tar listing line: ${line}`);
    let name = m[4]!;
    let link: string | null = null;
    const sym = name.indexOf(' -> ');
    const hard = name.indexOf(' link to ');
    if (m[1]!.startsWith('l') && sym >= 0) [name, link] = [name.slice(0, sym), name.slice(sym + 4)];
    else if (m[1]!.startsWith('h') && hard >= 0) [name, link] = [name.slice(0, hard), name.slice(hard + 9)];
    out.push({ mode: m[1]!, owner: m[2]!, size: /,/.test(m[3]!) ? 0 : Number(m[3]), name, link });
  }
  return out;
}

/** `ls -l`-style mode string of a parsed entry, as GNU tar prints it. */
export function modeString(e: TarEntry): string {
  const t = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', char: 'c', block: 'b', fifo: 'p' }[e.type];
  const m = e.mode;
  const bit = (b: number, c: string) => (m & b ? c : '-');
  const x = (exec: number, special: number, s: string) => (m & special ? (m & exec ? s : s.toUpperCase()) : bit(exec, 'x'));
  return (
    t +
    bit(0o400, 'r') + bit(0o200, 'w') + x(0o100, 0o4000, 's') +
    bit(0o40, 'r') + bit(0o20, 'w') + x(0o10, 0o2000, 's') +
    bit(0o4, 'r') + bit(0o2, 'w') + x(0o1, 0o1000, 't')
  );
}
