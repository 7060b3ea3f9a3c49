// Where this package's own run-time files are (package.json, the native addon, the compiled
// validators, the worker threads' entry modules), found the same way from the compiled modules
// (dist/src/**) and from the bundled CLI (dist/cli/*.cjs, scripts/bundle.mjs). Nothing else may
// locate a file by its own module's URL: inside the bundle that URL is the bundle's.

// scripts/bundle.mjs defines OCIBUNDLE_BUNDLED as true (esbuild `define`); elsewhere it is undeclared.
declare const OCIBUNDLE_BUNDLED: boolean | undefined;

/** True inside dist/cli/*.cjs. */
export const BUNDLED: boolean = typeof OCIBUNDLE_BUNDLED !== 'undefined' && OCIBUNDLE_BUNDLED === true;

/**
 * The package root. This module is dist/src/package-files.js, or inlined into a bundle at
 * dist/cli/NAME.cjs: two directories below the root either way (test/unit/package-files checks
 * both).
 */
export const PACKAGE_ROOT: URL = new URL('../../', import.meta.url);

/** A file of the package, by its path from the root (`native/build/Release/x.node`). */
export function packageFile(path: string): URL {
  return new URL(path, PACKAGE_ROOT);
}

/** A file tsc and the build scripts write under dist/src (`image/schemas/compiled.cjs`). */
export function distFile(path: string): URL {
  return new URL(`dist/src/${path}`, PACKAGE_ROOT);
}

/** The entry module of a worker thread: its own bundle next to the CLI's, or the compiled module. */
export function workerEntry(name: 'pipeline' | 'store'): URL {
  return BUNDLED ? packageFile(`dist/cli/${name}-worker.cjs`) : distFile(`${name}/worker.js`);
}
