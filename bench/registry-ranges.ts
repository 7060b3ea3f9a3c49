// The parallel-range experiment of the copy issue: one large registry blob fetched as one
// stream (hashed while it arrives, as ocibundle pulls) against N `Range` requests written at
// their offsets and hashed afterwards. Cases alternate in each round; every result is
// verified against the digest. Run: node dist/bench/registry-ranges.js BLOB-URL [DIR] [ROUNDS]
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, rmSync, writeSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';

const [url, dir = '/dev/shm', roundsArg = '5'] = process.argv.slice(2);
if (!url || !/\/blobs\/sha256:[0-9a-f]{64}$/.test(url)) {
  process.stderr.write('usage: registry-ranges BLOB-URL (http://HOST/v2/REPO/blobs/sha256:HEX) [DIR] [ROUNDS]\n');
  process.exit(2);
}
const digest = url.slice(url.lastIndexOf('sha256:') + 7);
const target = join(dir, `ranges-${process.pid}.blob`);

function get(agent: Agent, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url!, { agent, headers }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function blobSize(agent: Agent): Promise<number> {
  const res = await get(agent, { Range: 'bytes=0-0' });
  res.resume();
  const m = /\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
  if (res.statusCode !== 206 || !m) throw new Error(`the registry does not answer Range requests (status ${res.statusCode})`);
  return Number(m[1]);
}

/** One GET, hashed as it arrives and written in order (ocibundle's way). */
async function single(agent: Agent): Promise<string> {
  const fd = openSync(target, 'w');
  const h = createHash('sha256');
  try {
    const res = await get(agent);
    for await (const chunk of res as AsyncIterable<Buffer>) {
      h.update(chunk);
      writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** N Range GETs at once, each written at its offset; the file is hashed after the last one. */
async function ranges(agent: Agent, size: number, n: number): Promise<string> {
  const fd = openSync(target, 'w');
  try {
    const part = Math.ceil(size / n);
    await Promise.all(Array.from({ length: n }, async (_, i) => {
      const start = i * part;
      const end = Math.min(size, start + part) - 1;
      if (start > end) return;
      const res = await get(agent, { Range: `bytes=${start}-${end}` });
      if (res.statusCode !== 206) throw new Error(`range ${start}-${end}: status ${res.statusCode}`);
      let pos = start;
      for await (const chunk of res as AsyncIterable<Buffer>) {
        writeSync(fd, chunk, 0, chunk.length, pos);
        pos += chunk.length;
      }
      if (pos !== end + 1) throw new Error(`range ${start}-${end}: ${pos - start} bytes`);
    }));
  } finally {
    closeSync(fd);
  }
  const h = createHash('sha256');
  for await (const chunk of createReadStream(target, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) h.update(chunk);
  return h.digest('hex');
}

async function main(): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const size = await blobSize(agent);
  const cases: [string, () => Promise<string>][] = [
    ['1 stream', () => single(agent)],
    ['2 ranges', () => ranges(agent, size, 2)],
    ['4 ranges', () => ranges(agent, size, 4)],
    ['8 ranges', () => ranges(agent, size, 8)],
  ];
  const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (let r = 0; r < Number(roundsArg); r++) {
    for (const [name, run] of r % 2 === 0 ? cases : [...cases].reverse()) {
      const t0 = performance.now();
      const got = await run();
      times.get(name)!.push(performance.now() - t0);
      if (got !== digest) throw new Error(`${name}: digest ${got}, expected ${digest}`);
    }
  }
  rmSync(target, { force: true });
  agent.destroy();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(times.get('1 stream')!);
  process.stdout.write(`blob ${(size / 1048576).toFixed(1)} MiB, ${roundsArg} rounds, medians:\n`);
  for (const [name, xs] of times) {
    const m = median(xs);
    process.stdout.write(`  ${name.padEnd(9)} ${m.toFixed(0).padStart(6)} ms  ${((size / 1048576) / (m / 1000)).toFixed(0).padStart(5)} MiB/s  ${(m / base).toFixed(2)}x\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`registry-ranges: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
