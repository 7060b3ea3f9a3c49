// Config.User -> process.user (+ the home directory for HOME), following the image-spec's
// conversion.md: names resolve through the rootfs's passwd/group texts, numbers are used as
// they are, supplementary groups only for a user name given without a group. Pure.
import { OciBundleError } from '../errors.js';
import { parseGroup, parsePasswd, parseUnixId, type GroupEntry, type PasswdEntry } from './passwd.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Set only when the user was given by name and without a group. */
  additionalGids?: number[];
  /** The passwd entry's home directory, when an entry matched and its home is not empty. */
  home?: string;
}

function numericId(text: string, what: string, spec: string): number | null {
  if (!/^[0-9]+$/.test(text)) return null;
  const id = parseUnixId(text);
  if (id === null) throw new OciBundleError('ECONFIG', `${what} id ${text} in user ${JSON.stringify(spec)} is out of range`);
  return id;
}

/**
 * Resolve a Config.User value: '', 'user', 'uid', 'user:group', 'uid:gid', 'user:gid' or
 * 'uid:group'. An empty or absent value means uid 0 (looked up like '0'). A name that the
 * texts do not contain, or a name with no text to look it up in, fails with ENOUSER.
 */
export function resolveUser(spec: string | undefined, passwd: string | null, group: string | null): ResolvedUser {
  const value = spec ?? '';
  if (value.includes('\0')) throw new OciBundleError('ECONFIG', `user ${JSON.stringify(value)} contains a nul byte`);
  const parts = value === '' ? ['0'] : value.split(':');
  if (parts.length > 2) throw new OciBundleError('ECONFIG', `user ${JSON.stringify(value)} has more than one ':'`);
  const userPart = parts[0]!;
  const groupPart = parts[1];
  if (userPart === '') throw new OciBundleError('ECONFIG', `user ${JSON.stringify(value)} has an empty user name`);
  if (groupPart === '') throw new OciBundleError('ECONFIG', `user ${JSON.stringify(value)} has an empty group name`);

  let passwdEntries: PasswdEntry[] | undefined;
  const users = (): PasswdEntry[] => (passwdEntries ??= passwd === null ? [] : parsePasswd(passwd));
  let groupEntries: GroupEntry[] | undefined;
  const groups = (): GroupEntry[] => (groupEntries ??= group === null ? [] : parseGroup(group));

  const out: ResolvedUser = { uid: 0, gid: 0 };
  const uid = numericId(userPart, 'user', value);
  let entry: PasswdEntry | undefined;
  if (uid !== null) {
    entry = users().find((u) => u.uid === uid);
    out.uid = uid;
    out.gid = entry?.gid ?? 0;
  } else {
    if (passwd === null) {
      throw new OciBundleError('ENOUSER', `user ${JSON.stringify(userPart)} cannot be resolved: the rootfs has no /etc/passwd`);
    }
    entry = users().find((u) => u.name === userPart);
    if (!entry) throw new OciBundleError('ENOUSER', `user ${JSON.stringify(userPart)} not found in the rootfs's /etc/passwd`);
    out.uid = entry.uid;
    out.gid = entry.gid;
  }
  if (entry && entry.home !== '') out.home = entry.home;

  if (groupPart !== undefined) {
    const gid = numericId(groupPart, 'group', value);
    if (gid !== null) {
      out.gid = gid;
    } else {
      if (group === null) {
        throw new OciBundleError('ENOUSER', `group ${JSON.stringify(groupPart)} cannot be resolved: the rootfs has no /etc/group`);
      }
      const g = groups().find((e) => e.name === groupPart);
      if (!g) throw new OciBundleError('ENOUSER', `group ${JSON.stringify(groupPart)} not found in the rootfs's /etc/group`);
      out.gid = g.gid;
    }
  } else if (uid === null) {
    // conversion.md: supplementary groups only for a user given by name and without a group.
    const seen = new Set<number>();
    for (const g of groups()) if (g.members.includes(userPart) && !seen.has(g.gid)) seen.add(g.gid);
    out.additionalGids = [...seen];
  }
  return out;
}
