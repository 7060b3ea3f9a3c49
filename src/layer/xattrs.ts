// The xattr policy: which extended attributes from an image are written to the rootfs.
// Pure decisions only (no I/O); see the README's xattr table for the reasons.
export type XattrDecision = { keep: true } | { keep: false; warn: string | null };

const NEVER_SILENT = new Set(['security.selinux', 'system.nfs4_acl']);
const POSIX_ACLS = new Set(['system.posix_acl_access', 'system.posix_acl_default']);
const MAX_NAME = 255;
const MAX_VALUE = 65536;

export function decideXattr(name: string, value: Buffer, rootless: boolean): XattrDecision {
  if (name.length === 0 || name.length > MAX_NAME || name.includes('\0')) {
    return { keep: false, warn: `invalid xattr name ${JSON.stringify(name)}` };
  }
  // POSIX pax: a record with an empty value deletes the keyword, so an empty SCHILY.xattr
  // record means "no such attribute" (Go's archive/tar and umoci read it the same way).
  if (value.length === 0) return { keep: false, warn: null };
  if (value.length > MAX_VALUE) return { keep: false, warn: `xattr ${name} larger than ${MAX_VALUE} bytes` };
  // Labels of the host's security policy and NFS ACLs: meaningless or harmful to copy.
  if (NEVER_SILENT.has(name)) return { keep: false, warn: null };
  if (name.startsWith('user.')) return { keep: true };
  if (name === 'security.capability') return { keep: true };
  if (POSIX_ACLS.has(name)) return { keep: true };
  if (name.startsWith('trusted.')) {
    // trusted.* is privileged filesystem-internal state (overlayfs keeps its whiteouts and
    // opaque markers there): an image must not plant it in a rootfs that may become a lower dir.
    return { keep: false, warn: `xattr ${name} not applied: trusted.* attributes are never set` };
  }
  if (rootless && name.startsWith('security.')) {
    return { keep: false, warn: `xattr ${name} not applied in rootless mode` };
  }
  return { keep: false, warn: `xattr ${name} not applied: namespace not supported` };
}
