// The GNU time (`/usr/bin/time -f`) side of a measurement: the format string the harness
// passes and the parser of what time writes to its -o file. Pure; spawning is runner.ts's job.

/** A line we can find again among "Command exited with non-zero status" and the like. */
export const TIME_FORMAT = 'OCIBENCH wall=%e rss=%M user=%U sys=%S';

export interface TimeFigures {
  wallS: number;
  maxRssKb: number;
  userS: number;
  sysS: number;
}

const LINE = /^OCIBENCH wall=([0-9.]+) rss=([0-9]+) user=([0-9.]+) sys=([0-9.]+)\s*$/;

/** Figures from the -o file of `time -f TIME_FORMAT`; null when the line is missing or garbled. */
export function parseTimeOutput(text: string): TimeFigures | null {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = LINE.exec(lines[i] ?? '');
    if (m === null) continue;
    const [wallS, maxRssKb, userS, sysS] = [m[1], m[2], m[3], m[4]].map(Number);
    if ([wallS, maxRssKb, userS, sysS].some((n) => n === undefined || !Number.isFinite(n))) return null;
    return { wallS: wallS!, maxRssKb: maxRssKb!, userS: userS!, sysS: sysS! };
  }
  return null;
}
