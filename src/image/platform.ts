// Platforms: parsing `os/arch[/variant]`, the host's default (linux + process.arch in OCI
// names, arm64 -> v8) and matching a descriptor's platform against a wanted one. Pure.
import { OciBundleError, type Warning } from '../errors.js';
import type { Platform } from './types.js';

export interface WantedPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips: 'mips', mipsel: 'mipsle', loong64: 'loong64' };

export function parsePlatform(s: string): WantedPlatform {
  const parts = s.split('/');
  const [os, architecture, variant] = parts;
  if (parts.length < 2 || parts.length > 3 || !os || !architecture || variant === '' || !/^[a-z0-9._-]+(\/[a-z0-9._-]+){1,2}$/i.test(s)) {
    throw new OciBundleError('EUSAGE', `invalid platform ${JSON.stringify(s)}: want os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
  return normalize({ os, architecture, ...(variant ? { variant } : {}) });
}

function normalize(p: WantedPlatform): WantedPlatform {
  if (p.architecture === 'arm64' && p.variant === undefined) return { ...p, variant: 'v8' };
  return p;
}

export function hostPlatform(): WantedPlatform {
  const architecture = ARCH[process.arch] ?? process.arch;
  const p: WantedPlatform = { os: 'linux', architecture };
  if (architecture === 'arm') {
    const v = (process.config.variables as Record<string, unknown>)['arm_version'];
    if (v !== undefined) p.variant = `v${String(v)}`;
  }
  return normalize(p);
}

export function formatPlatform(p: Platform | WantedPlatform | undefined): string {
  if (!p) return '(no platform)';
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** Whether a descriptor platform satisfies the wanted one (arm64 without variant counts as v8). */
export function platformMatches(have: Platform, want: WantedPlatform): boolean {
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  if (want.variant === undefined) return true;
  const hv = have.variant ?? (have.architecture === 'arm64' ? 'v8' : undefined);
  return hv === want.variant;
}

/**
 * Why an image's config does not fit the platform asked for (os/architecture/variant as the
 * config states them; a field the config leaves out is not held against it), or null.
 */
export function configPlatformMismatch(config: { os?: unknown; architecture?: unknown; variant?: unknown }, want: WantedPlatform): string | null {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const have: Platform = { os: str(config.os) ?? want.os, architecture: str(config.architecture) ?? want.architecture };
  const variant = str(config.variant);
  if (variant !== undefined) have.variant = variant;
  const fits = have.os === want.os && have.architecture === want.architecture && (variant === undefined || want.variant === undefined || variant === want.variant);
  return fits ? null : `the image config says ${formatPlatform(have)}, not the ${formatPlatform(want)} asked for`;
}

/**
 * The WPLATFORM warning when `image`'s config does not fit the `--platform` asked for (a
 * single-platform image is used whatever its platform, as umoci does; the warning says so).
 */
export function platformWarning(image: string, config: { os?: unknown; architecture?: unknown; variant?: unknown }, platform: string | undefined, using = 'using it anyway'): Warning | null {
  const why = platform === undefined ? null : configPlatformMismatch(config, parsePlatform(platform));
  return why ? { code: 'WPLATFORM', message: `${image}: ${why}; ${using}` } : null;
}
