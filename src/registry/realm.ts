// Which bearer-token realm may receive a registry's credentials. The registry's own host name
// (any port) may; a realm on another host only over https and only when both names share a
// registrable domain (public suffix + one label, from the system's Public Suffix List: Debian's
// `publicsuffix` package), or when the user named that host with --trust-realm. IP addresses
// and names the list cannot place share no domain. Pure apart from reading the list once.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

export const PSL_FILE = '/usr/share/publicsuffix/public_suffix_list.dat';

export interface SuffixList {
  rules: Set<string>;
  wildcards: Set<string>;
  exceptions: Set<string>;
}

/** Parses Public Suffix List text (comments, blank lines, `*.x` and `!x` rules). */
export function parseSuffixList(text: string): SuffixList {
  const l: SuffixList = { rules: new Set(), wildcards: new Set(), exceptions: new Set() };
  for (const raw of text.split('\n')) {
    const rule = raw.trim().split(/\s/)[0]!.toLowerCase();
    if (rule === '' || rule.startsWith('//')) continue;
    if (rule.startsWith('!')) l.exceptions.add(rule.slice(1));
    else if (rule.startsWith('*.')) l.wildcards.add(rule.slice(2));
    else l.rules.add(rule);
  }
  return l;
}

let cached: SuffixList | null | undefined;
/** The system's list, read once; null when the file is absent or unreadable. */
export function systemSuffixList(): SuffixList | null {
  if (cached !== undefined) return cached;
  try {
    cached = parseSuffixList(readFileSync(PSL_FILE, 'utf8'));
  } catch {
    cached = null;
  }
  return cached;
}

/** The registrable domain of a host name (`a.b.example.co.uk` -> `example.co.uk`); undefined for IPs, public suffixes and single labels. */
export function registrableDomain(host: string, list: SuffixList): string | undefined {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (isIP(h) || !h.includes('.')) return undefined;
  const labels = h.split('.');
  // the longest matching rule gives the public suffix; an exception rule wins; the default rule is "*"
  let suffixLen = 1;
  for (let i = 0; i < labels.length; i++) {
    const cand = labels.slice(i).join('.');
    const parent = labels.slice(i + 1).join('.');
    if (list.exceptions.has(cand)) {
      suffixLen = labels.length - i - 1;
      break;
    }
    if (list.rules.has(cand) || (parent !== '' && list.wildcards.has(parent))) {
      suffixLen = labels.length - i;
      break;
    }
  }
  if (labels.length <= suffixLen) return undefined;
  return labels.slice(labels.length - suffixLen - 1).join('.');
}

export type RealmVerdict = { send: true } | { send: false; why: string };

/**
 * May the credentials for `registryHost` (the host requests go to, port optional) be sent to
 * `realm`? `trusted` holds the host names (or host:port) given with --trust-realm.
 */
export function realmVerdict(registryHost: string, realm: URL, trusted: readonly string[], list: SuffixList | null = systemSuffixList()): RealmVerdict {
  const regName = hostName(registryHost);
  const realmName = realm.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (realmName === regName) return { send: true };
  if (trusted.some((t) => t.toLowerCase() === realmName || t.toLowerCase() === realm.host.toLowerCase())) return { send: true };
  const other = `token realm ${realm.host} is another host than the registry ${registryHost}`;
  if (realm.protocol !== 'https:') return { send: false, why: `${other} and is not https` };
  if (list === null) return { send: false, why: `${other} (no public suffix list at ${PSL_FILE} to tell whether they share a domain)` };
  const a = registrableDomain(regName, list);
  const b = registrableDomain(realmName, list);
  if (a === undefined || a !== b) return { send: false, why: `${other} and does not share its domain` };
  return { send: true };
}

function hostName(hostPort: string): string {
  const h = hostPort.toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return colon > 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}
