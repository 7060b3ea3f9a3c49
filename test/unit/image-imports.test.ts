// Import direction: src/image knows nothing of the CLI, rootfs or yargs (it may use src/host:
// temp files and locks), and loads ajv only lazily (no static import), so ls/tag/rm do not pay for it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const here = dirname(fileURLToPath(import.meta.url));
const SRC = resolve(here, '..', '..', '..', 'src', 'image');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('src/image imports only node:, its own modules, ../host/, ../errors.js, ../package-files.js and ../compiled-validators.js', () => {
  const all = files(SRC);
  assert.ok(all.length > 5, `found ${all.length} files in ${SRC}`);
  for (const f of all) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)) {
      const spec = m[1]!;
      const ok = spec.startsWith('node:') || spec.startsWith('./') || spec === '../errors.js' || spec === '../package-files.js' || spec === '../compiled-validators.js' || spec.startsWith('../host/') || (f.includes('/schemas/') && spec.startsWith('./'));
      assert.ok(ok, `${f} imports ${spec}`);
    }
    assert.doesNotMatch(text, /from\s+'ajv'/, `${f} imports ajv statically`);
    assert.doesNotMatch(text, /yargs/, `${f} mentions yargs`);
  }
});
