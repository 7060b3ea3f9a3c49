// Input and output types of the image-config -> runtime-config conversion. Types only.
// ImageConfigInput is the minimal, loosely typed view src/spec needs; src/image's ImageConfig
// must stay assignable to it (a test checks this). Values are re-checked at run time.
import type { WarnFn } from '../errors.js';

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

/** A caller's bind mount: host `source` at container `destination`. */
export interface BindMountOption {
  type: 'bind';
  source: string;
  destination: string;
  readonly?: boolean;
}

/** A caller's tmpfs at `destination`; `size` as tmpfs takes it (e.g. '64m', '10%'). */
export interface TmpfsMountOption {
  type: 'tmpfs';
  destination: string;
  size?: string;
  /** Permission bits of the tmpfs root; default 0o1777. */
  mode?: number;
}

export type ShapeMount = BindMountOption | TmpfsMountOption;

/** How a caller shapes config.json beyond what the image says (unpack's shaping flags). */
export interface ShapeOptions {
  /** Replace process.args whole (not combinable with entrypoint or cmd). */
  args?: string[];
  /** Replace the image's Entrypoint; the image's Cmd is dropped unless `cmd` is given too. */
  entrypoint?: string[];
  /** Replace the image's Cmd. */
  cmd?: string[];
  /** NAME=VALUE entries added after the image's Env; a name given here wins. */
  env?: string[];
  /** Absolute working directory, instead of the image's WorkingDir. */
  cwd?: string;
  /** Instead of the image's User: user, uid, user:group, uid:gid, uid:group or user:gid. */
  user?: string;
  /** Added after the system mounts and the image's volumes (a volume at the same place is dropped). */
  mounts?: ShapeMount[];
  /** Added over the generated annotations and the image's labels. */
  annotations?: Record<string, string>;
  /** root.readonly true. */
  readonlyRootfs?: boolean;
  /** 'host': no network namespace (the host's interfaces, its /etc/resolv.conf bound read-only). */
  net?: 'host';
  /** An RFC 7396 JSON merge patch applied to config.json last; the result must validate. */
  configPatch?: unknown;
}

export interface GenerateOptions extends ShapeOptions {
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
  warn?: WarnFn;
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
