// Caps on what an image config may make the conversion produce. Constants only. Values past
// them fail with ELIMIT (they could not be exec'd, or only serve to exhaust memory).
// Callers reading /etc/passwd and /etc/group should cap the read at passwdBytes.

export const SPEC_LIMITS = {
  /** Config.Env entries. */
  envEntries: 4096,
  /** Entrypoint + Cmd entries. */
  argEntries: 4096,
  /** One argument or environment string (Linux MAX_ARG_STRLEN is 128 KiB with its NUL). */
  stringBytes: 128 * 1024 - 1,
  /** All of args + env together (Linux refuses execve past ~2 MiB with an 8 MiB stack). */
  execBytes: 1024 * 1024,
  /** Config.Labels entries, and their keys and values added up. */
  labelEntries: 4096,
  labelBytes: 1024 * 1024,
  /** Config.Volumes and Config.ExposedPorts entries. */
  volumes: 1024,
  exposedPorts: 4096,
  /** A path (WorkingDir, a volume): Linux PATH_MAX. */
  pathBytes: 4096,
  /** /etc/passwd or /etc/group text. */
  passwdBytes: 8 * 1024 * 1024,
  /** Entries of one uid or gid map (the kernel's limit since Linux 4.15). */
  idMapEntries: 340,
  /** The hostname: Linux HOST_NAME_MAX. */
  hostnameBytes: 64,
} as const;
