// Facts about the machine and the tools a result was measured with: CPU, cores, kernel, node,
// date, the ocibundle git commit and the peers' versions. Read-only probes; never fails (an
// unknown fact is recorded as such).
import { readFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { run } from './proc.js';

export interface MachineFacts {
  date: string;
  cpuModel: string;
  cores: number;
  kernel: string;
  node: string;
  ocibundleCommit: string;
  tools: Record<string, string>;
  loadAverage: string;
}

async function firstLine(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  const line = (r.stdout + r.stderr).split('\n').find((l) => l.trim() !== '');
  return r.code === 0 && line !== undefined ? line.trim() : 'unknown';
}

export async function machineFacts(repo: string): Promise<MachineFacts> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const head = await run('git', ['-C', repo, 'rev-parse', 'HEAD']);
  const dirty = await run('git', ['-C', repo, 'status', '--porcelain', '--untracked-files=no']);
  const commit = head.code === 0 ? head.stdout.trim() + (dirty.stdout.trim() !== '' ? '+dirty' : '') : 'unknown';
  const load = await readFile('/proc/loadavg', 'utf8').catch(() => 'unknown');
  return {
    date: new Date().toISOString(),
    cpuModel: model.trim(),
    cores: cpus().length,
    kernel: release(),
    node: process.version,
    ocibundleCommit: commit,
    tools: {
      umoci: await firstLine('umoci', ['--version']),
      tar: await firstLine('tar', ['--version']),
      gzip: await firstLine('gzip', ['--version']),
      zstd: await firstLine('zstd', ['--version']),
      time: await firstLine('/usr/bin/time', ['--version']),
    },
    loadAverage: load.trim().split(' ').slice(0, 3).join(' '),
  };
}
