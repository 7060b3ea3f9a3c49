// Keeps the import graph pointing one way (cli -> unpack/index -> image, layer, spec -> fs ->
// native) by reading the import lines of every source file. A failure names the file and the
// forbidden import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '../../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

// For each area, the areas (top-level dirs or files under src/) it must never import.
const forbidden: Record<string, string[]> = {
  image: ['cli', 'layer', 'fs', 'spec', 'unpack.ts', 'runtime-config.ts', 'yargs'],
  spec: ['cli', 'layer', 'fs', 'image', 'unpack.ts', 'runtime-config.ts', 'yargs'],
  fs: ['cli', 'layer', 'image', 'spec', 'host', 'unpack.ts', 'runtime-config.ts', 'yargs'],
  host: ['cli', 'layer', 'image', 'spec', 'source', 'registry', 'pipeline', 'unpack.ts', 'runtime-config.ts', 'yargs'],
  layer: ['cli', 'image', 'spec', 'unpack.ts', 'runtime-config.ts', 'yargs'],
  tar: ['cli', 'layer', 'image', 'fs', 'spec', 'build', 'source', 'unpack.ts', 'runtime-config.ts', 'yargs'],
  build: ['cli', 'yargs'],
  store: ['cli', 'yargs', 'unpack.ts', 'runtime-config.ts'],
  'unpack.ts': ['cli', 'yargs'],
  'runtime-config.ts': ['cli', 'yargs', 'layer'],
  'index.ts': ['cli', 'yargs'],
};

function areaOf(file: string): string {
  const rel = relative(root, file).split('/');
  return rel.length > 1 ? rel[0]! : rel[0]!;
}

function targetArea(file: string, spec: string): string {
  if (!spec.startsWith('.')) return spec.split('/')[0]!;
  const abs = join(file, '..', spec.replace(/\.js$/, '.ts'));
  return areaOf(abs);
}

test('imports point one way', async (t) => {
  const files = sources(root);
  assert.ok(files.length > 10, 'found the sources');
  for (const file of files) {
    const area = areaOf(file);
    const banned = forbidden[area] ?? [];
    await t.test(relative(root, file), () => {
      for (const spec of importsOf(file)) {
        const target = targetArea(file, spec);
        assert.ok(!banned.includes(target), `${relative(root, file)} imports ${spec} (${area} must not depend on ${target})`);
      }
    });
  }
});

test('every source module opens with a header comment', async (t) => {
  for (const file of sources(root)) {
    await t.test(relative(root, file), () => {
      const first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
      assert.match(first, /^(\/\/|\/\*)/, `${relative(root, file)} has no header comment`);
    });
  }
});
