// The implementation-defined parts of config.json: a Linux template equal to what runc 1.1's
// `runc spec` writes (capabilities, rlimits, mounts, masked/readonly paths) plus a cgroup
// namespace, and the rootless rewrite (as umoci's and `runc spec --rootless`). No image data.
import type { IdMap, RuntimeLinux, RuntimeMount, RuntimeSpec } from './types.js';

/** runc 1.1 (runtime-spec 1.0.2) accepts this; umoci 0.4.7 writes 1.0.0. */
export const OCI_VERSION = '1.0.2';
export const DEFAULT_HOSTNAME = 'ocibundle';
export const DEFAULT_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'] as const;
/** Used when the image has neither Entrypoint nor Cmd (as umoci and `runc spec`). */
export const DEFAULT_ARGS = ['sh'] as const;
export const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'] as const;
/** Mount options of a Config.Volumes tmpfs, as umoci 0.4.7. */
export const VOLUME_OPTIONS = ['rw', 'nosuid', 'nodev', 'noexec', 'relatime'] as const;
/** Destinations of the system mounts below; image volumes may not land on or under them. */
export const SYSTEM_MOUNT_ROOTS = ['/proc', '/dev', '/sys'] as const;

export function defaultMounts(): RuntimeMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

export function defaultLinux(): RuntimeLinux {
  return {
    resources: { devices: [{ allow: false, access: 'rwm' }] },
    namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type })),
    maskedPaths: [
      '/proc/acpi',
      '/proc/asound',
      '/proc/kcore',
      '/proc/keys',
      '/proc/latency_stats',
      '/proc/timer_list',
      '/proc/timer_stats',
      '/proc/sched_debug',
      '/sys/firmware',
      '/proc/scsi',
    ],
    readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
  };
}

export function defaultCapabilities(): RuntimeSpec['process']['capabilities'] {
  return { bounding: [...DEFAULT_CAPS], effective: [...DEFAULT_CAPS], permitted: [...DEFAULT_CAPS], ambient: [...DEFAULT_CAPS] };
}

/** Add a user namespace (once, last) with the given maps. */
export function addUserNamespace(linux: RuntimeLinux, uidMap: IdMap[], gidMap: IdMap[]): void {
  linux.uidMappings = uidMap.map((m) => ({ containerID: m.containerID, hostID: m.hostID, size: m.size }));
  linux.gidMappings = gidMap.map((m) => ({ containerID: m.containerID, hostID: m.hostID, size: m.size }));
  linux.namespaces = linux.namespaces.filter((n) => n.type !== 'user');
  linux.namespaces.push({ type: 'user' });
}

/** The host's resolv.conf, bound read-only where the container shares the host's network. */
export function resolvConfMount(): RuntimeMount {
  // nosuid/nodev/noexec are added because a bind in a user namespace may not drop locked
  // flags of the host mount; adding them is always allowed.
  return { destination: '/etc/resolv.conf', type: 'bind', source: '/etc/resolv.conf', options: ['rbind', 'nosuid', 'nodev', 'noexec', 'ro'] };
}

/** A read-only recursive bind of the host's /sys: sysfs cannot be mounted in a user namespace that owns no network namespace. */
export function sysBindMount(): RuntimeMount {
  return { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
}

const isSys = (m: RuntimeMount) => m.destination === '/sys' || m.destination.startsWith('/sys/');

/** Replace /sys and every mount under it by sysBindMount(), at the place of the first one. */
export function bindHostSys(spec: RuntimeSpec): void {
  const first = spec.mounts.findIndex(isSys);
  if (first < 0) return;
  const rest = spec.mounts.filter((m) => !isSys(m));
  rest.splice(first, 0, sysBindMount());
  spec.mounts = rest;
}

/** Drop uid=N / gid=N mount options whose id `covers` rejects (the kernel refuses unmapped ids). */
export function dropUnmappedIdOptions(spec: RuntimeSpec, covers: (kind: 'uid' | 'gid', id: number) => boolean): void {
  for (const m of spec.mounts) {
    if (!m.options) continue;
    m.options = m.options.filter((o) => {
      const id = /^(uid|gid)=([0-9]+)$/.exec(o);
      return !id || covers(id[1] as 'uid' | 'gid', Number(id[2]));
    });
  }
}

/**
 * Rewrite for an unprivileged user namespace, as umoci's rootless mode: no network namespace
 * (the host's network, with its resolv.conf bind-mounted read-only when there is one), no
 * cgroup resources, no uid=/gid= mount options, and /sys (with everything under it) replaced
 * by a read-only recursive bind of the host's /sys, since sysfs cannot be mounted there.
 */
export function makeRootless(spec: RuntimeSpec, hostHasResolvConf: boolean): void {
  spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
  delete spec.linux.resources;
  dropUnmappedIdOptions(spec, () => false);
  // Called before image volumes are added, so these land right after the system mounts.
  spec.mounts = spec.mounts.filter((m) => !isSys(m));
  spec.mounts.push(sysBindMount());
  if (hostHasResolvConf) spec.mounts.push(resolvConfMount());
}
