// NODE_EXTRA_CA_CERTS when node did not load it: bin/ocibundle keeps it from node's start-up
// (parsing a system CA bundle costs more CPU than most commands) and marks the process with the
// file's path; the first TLS connection then gets node's bundled roots plus that file, as node
// itself would have given it. A process not started through the launcher is never marked.
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { WarnFn } from '../errors.js';

/** The mark bin/ocibundle sets: the NODE_EXTRA_CA_CERTS path node was started without. */
export const DEFERRED_CA_MARK = Symbol.for('ocibundle.deferredExtraCaCerts');

let cached: { file: string; context: SecureContext | undefined } | undefined;

/** The deferred file's path, or undefined when node loaded NODE_EXTRA_CA_CERTS itself (or none was set). */
export function deferredExtraCaFile(): string | undefined {
  const v = (globalThis as Record<symbol, unknown>)[DEFERRED_CA_MARK];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The TLS options an https.Agent needs so that the deferred file counts as node would count it:
 * `{ secureContext }` with the bundled roots and the file's certificates, built once per
 * process; `{}` when nothing was deferred. An unreadable or empty file is ignored with a
 * warning, as node ignores it.
 */
export function extraCaOptions(onWarning?: WarnFn): { secureContext?: SecureContext } {
  const file = deferredExtraCaFile();
  if (file === undefined) return {};
  if (cached?.file !== file) {
    let context: SecureContext | undefined;
    try {
      const pem = readFileSync(file, 'latin1');
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
      context = createSecureContext({ ca: [...rootCertificates, pem] });
    } catch (e) {
      onWarning?.({ code: 'WEXTRACA', message: `ignoring extra certs from ${JSON.stringify(file)} (NODE_EXTRA_CA_CERTS): ${(e as Error).message}` });
    }
    cached = { file, context };
  }
  return cached.context === undefined ? {} : { secureContext: cached.context };
}
