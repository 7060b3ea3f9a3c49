// Input and output types of the image-config -> runtime-config conversion. Types only.
// ImageConfigInput is the minimal, loosely typed view src/spec needs; src/image's ImageConfig
// must stay assignable to it (a test checks this). Values are re-checked at run time.

/** The part of an image config's `config` object that the conversion reads. */
export interface ImageConfigConfigInput {
  User?: string | null;
  ExposedPorts?: Record<string, unknown> | null;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, unknown> | null;
  WorkingDir?: string | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string | null;
  [key: string]: unknown;
}

/** The image config fields (application/vnd.oci.image.config.v1+json) the conversion reads. */
export interface ImageConfigInput {
  created?: string | null;
  author?: string | null;
  architecture?: string | null;
  os?: string | null;
  'os.version'?: string | null;
  'os.features'?: string[] | null;
  variant?: string | null;
  config?: ImageConfigConfigInput | null;
  [key: string]: unknown;
}

/** One user-namespace mapping, as in runtime-spec's uidMappings/gidMappings. */
export interface IdMap {
  containerID: number;
  hostID: number;
  size: number;
}

export interface GenerateOptions {
  /** root.path in config.json; default 'rootfs'. */
  rootfsPath?: string;
  /** Contents of the rootfs's /etc/passwd and /etc/group (read confined to it), or null. */
  passwd: string | null;
  group: string | null;
  /** process.terminal; default false. */
  tty?: boolean;
  /** Turn Config.Volumes into tmpfs mounts; default true. */
  volumes?: boolean;
  rootless?: boolean;
  uidMap?: IdMap[];
  gidMap?: IdMap[];
  /** Host ids that container 0 maps to by default in rootless mode; default: this process's. */
  hostUid?: number;
  hostGid?: number;
  /** Default 'ocibundle'. */
  hostname?: string;
  /** Rootless only: bind-mount the host's /etc/resolv.conf (there is no network namespace). */
  hostHasResolvConf?: boolean;
  warn?: (w: { code: string; message: string }) => void;
}

export interface RuntimeUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface RuntimeMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface RuntimeProcess {
  terminal: boolean;
  user: RuntimeUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities: {
    bounding: string[];
    effective: string[];
    permitted: string[];
    ambient: string[];
  };
  rlimits: { type: string; hard: number; soft: number }[];
  noNewPrivileges: boolean;
}

export interface RuntimeLinux {
  uidMappings?: IdMap[];
  gidMappings?: IdMap[];
  resources?: { devices: { allow: boolean; access: string }[] };
  namespaces: { type: string }[];
  maskedPaths: string[];
  readonlyPaths: string[];
}

/** The runtime-spec config.json this package writes (a subset of the runtime-spec). */
export interface RuntimeSpec {
  ociVersion: string;
  process: RuntimeProcess;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: RuntimeMount[];
  annotations?: Record<string, string>;
  linux: RuntimeLinux;
}
