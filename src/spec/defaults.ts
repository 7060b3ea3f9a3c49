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

/**
 * Rewrite for an unprivileged user namespace, as umoci's rootless mode: no network namespace
 * (the host's network, with its resolv.conf bind-mounted read-only when there is one), no
 * cgroup resources, no uid=/gid= mount options, and /sys (with everything under it) replaced
 * by a read-only recursive bind of the host's /sys, since sysfs cannot be mounted there.
 */
export function makeRootless(spec: RuntimeSpec, hostHasResolvConf: boolean): void {
  spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
  delete spec.linux.resources;
  const mounts: RuntimeMount[] = [];
  for (const m of spec.mounts) {
    if (m.destination === '/sys' || m.destination.startsWith('/sys/')) continue;
    const copy: RuntimeMount = { ...m };
    if (m.options) copy.options = m.options.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid='));
    mounts.push(copy);
  }
  // Called before image volumes are added, so these land right after the system mounts.
  mounts.push({ destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
  if (hostHasResolvConf) {
    // nosuid/nodev/noexec are added because a bind in a user namespace may not drop locked
    // flags of the host mount; adding them is always allowed.
    mounts.push({ destination: '/etc/resolv.conf', type: 'bind', source: '/etc/resolv.conf', options: ['rbind', 'nosuid', 'nodev', 'noexec', 'ro'] });
  }
  spec.mounts = mounts;
}
