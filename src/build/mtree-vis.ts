// The vis(3) encoding go-mtree uses for names, link targets and xattr names in an mtree
// (VIS_WHITE | VIS_OCTAL | VIS_GLOB): printable ASCII stays, except '\\' (doubled) and the
// glob characters; every other byte is \ooo. unvis also reads the C-style and meta escapes
// other mtree writers use. Works on bytes, so any file name survives a round trip.

const GLOB = new Set([0x2a, 0x3f, 0x5b, 0x23]); // * ? [ #

/** Encode a name (as its UTF-8 bytes, or raw bytes) for an mtree line. */
export function vis(s: string | Buffer): string {
  if (typeof s === 'string' && stays(s)) return s;
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  let out = '';
  let plain = 0; // start of a run of bytes that stay as they are
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c > 0x20 && c < 0x7f && c !== 0x5c && !GLOB.has(c)) continue;
    out += b.toString('latin1', plain, i);
    out += c === 0x5c ? '\\\\' : `\\${c.toString(8).padStart(3, '0')}`;
    plain = i + 1;
  }
  return out + b.toString('latin1', plain);
}

/** True when every character stays as it is (printable ASCII, no '\\' nor glob character). */
function stays(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x5c || c === 0x2a || c === 0x3f || c === 0x5b || c === 0x23) return false;
  }
  return true;
}

const CSTYLE: Record<string, number> = { n: 0x0a, r: 0x0d, b: 0x08, a: 0x07, v: 0x0b, t: 0x09, f: 0x0c, s: 0x20, E: 0x1b, '\\': 0x5c };

/** Decode an mtree token to bytes; null when an escape is malformed. */
export function unvisBytes(s: string): Buffer | null {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch > 0xff) {
      for (const byte of Buffer.from(s[i]!, 'utf8')) out.push(byte);
      continue;
    }
    if (ch !== 0x5c) {
      out.push(ch);
      continue;
    }
    const next = s[i + 1];
    if (next === undefined) return null;
    if (/[0-7]/.test(next)) {
      let j = i + 1;
      let v = 0;
      while (j < s.length && j < i + 4 && /[0-7]/.test(s[j]!)) v = v * 8 + Number(s[j++]);
      if (v > 0xff) return null;
      out.push(v);
      i = j - 1;
    } else if (next in CSTYLE) {
      out.push(CSTYLE[next]!);
      i++;
    } else if (next === 'M' && s[i + 2] === '-' && i + 3 < s.length) {
      out.push((s.charCodeAt(i + 3) & 0x7f) | 0x80);
      i += 3;
    } else if (next === 'M' && s[i + 2] === '^' && i + 3 < s.length) {
      const c = s.charCodeAt(i + 3);
      out.push((c === 0x3f ? 0x7f : c & 0x1f) | 0x80);
      i += 3;
    } else if (next === '^' && i + 2 < s.length) {
      const c = s.charCodeAt(i + 2);
      out.push(c === 0x3f ? 0x7f : c & 0x1f);
      i += 2;
    } else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      out.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      return null;
    }
  }
  return Buffer.from(out);
}

/** Decode to a string (names are UTF-8 on Linux); null when malformed. */
export function unvis(s: string): string | null {
  const b = unvisBytes(s);
  return b === null ? null : b.toString('utf8');
}
