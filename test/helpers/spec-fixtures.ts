// Test fixtures for src/spec: passwd/group texts, an image-config builder and a warning
// collector. Built in code; no files. Not a test file itself.
import type { GenerateOptions, ImageConfigInput } from '../../src/spec/index.js';

export const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'alice:x:1000:1000:Alice:/home/alice:/bin/sh',
  'nohome:x:1001:1001:No Home::/bin/sh',
  'dup:x:1002:1002::/first:/bin/sh',
  'dup:x:1003:1003::/second:/bin/sh',
  '',
].join('\n');

export const GROUP = [
  'root:x:0:',
  'daemon:x:1:',
  'sys:x:3:daemon,bin',
  'adm:x:4:daemon,alice',
  'alice:x:1000:',
  'staff:x:50:alice',
  'wheel:x:10:bob,alice',
  'audio:x:29:',
  '',
].join('\n');

/** An image config with os linux and amd64, `config` as given, and top-level extras. */
export function image(config: Record<string, unknown> = {}, top: Record<string, unknown> = {}): ImageConfigInput {
  return { architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: [] }, ...top };
}

export interface Collected {
  warnings: { code: string; message: string }[];
  warn: NonNullable<GenerateOptions['warn']>;
  codes(): string[];
}

export function collectWarnings(): Collected {
  const warnings: { code: string; message: string }[] = [];
  return { warnings, warn: (w) => warnings.push(w), codes: () => warnings.map((w) => w.code) };
}

/** Options with the fixture passwd/group and a warning collector. */
export function baseOptions(extra: Partial<GenerateOptions> = {}): GenerateOptions & { collected: Collected } {
  const collected = collectWarnings();
  return { passwd: PASSWD, group: GROUP, warn: collected.warn, ...extra, collected };
}
