// generateRuntimeConfig: image config + the rootfs's passwd/group texts -> a runtime-spec
// config.json object, checked against our schema before it is returned. Pure: reads no
// files (only this process's euid/egid as the rootless default), writes nothing.
import { OciBundleError } from '../errors.js';
import { addUserNamespace, defaultCapabilities, defaultLinux, defaultMounts, DEFAULT_HOSTNAME, dropUnmappedIdOptions, makeRootless, OCI_VERSION } from './defaults.js';
import { ANNOTATION, buildAnnotations, buildArgs, buildCwd, buildVolumeMounts, mergeEnv, objectKeys, optString, stringList, type Warn } from './fields.js';
import { checkIdMaps, isMapped } from './idmap.js';
import { SPEC_LIMITS } from './limits.js';
import type { GenerateOptions, IdMap, ImageConfigInput, RuntimeSpec } from './types.js';
import { checkShape, overrideImageConfig, patchSpec, shapeSpec, useHostNetwork } from './overrides.js';
import { runtimeRuleViolation } from './rules.js';
import { buildUserMounts } from './user-mounts.js';
import { resolveUser } from './user.js';
import { validateRuntimeConfig } from './validate.js';

function checkOptions(opts: GenerateOptions): { rootfsPath: string; hostname: string } {
  const rootfsPath = opts.rootfsPath ?? 'rootfs';
  if (typeof rootfsPath !== 'string' || rootfsPath === '' || rootfsPath.includes('\0')) {
    throw new OciBundleError('EUSAGE', `invalid rootfs path ${JSON.stringify(rootfsPath)}`);
  }
  const hostname = opts.hostname ?? DEFAULT_HOSTNAME;
  if (typeof hostname !== 'string' || hostname === '' || hostname.includes('\0') || Buffer.byteLength(hostname) > SPEC_LIMITS.hostnameBytes) {
    throw new OciBundleError('EUSAGE', `invalid hostname ${JSON.stringify(hostname)}: 1 to ${SPEC_LIMITS.hostnameBytes} bytes, no nul`);
  }
  return { rootfsPath, hostname };
}

function defaultMap(hostId: number | undefined, fallback: (() => number) | undefined): IdMap[] {
  return [{ containerID: 0, hostID: hostId ?? fallback?.() ?? 0, size: 1 }];
}

/** The runtime config for `image`; throws ECONFIG, ENOUSER, ELIMIT (image) or EUSAGE (options). */
export function generateRuntimeConfig(image: ImageConfigInput, opts: GenerateOptions): RuntimeSpec {
  const warn: Warn = opts.warn ?? (() => {});
  const { rootfsPath, hostname } = checkOptions(opts);
  if (image === null || typeof image !== 'object' || Array.isArray(image)) {
    throw new OciBundleError('ECONFIG', 'image config must be a json object');
  }
  const cfgRaw: unknown = image.config ?? {};
  if (typeof cfgRaw !== 'object' || cfgRaw === null || Array.isArray(cfgRaw)) throw new OciBundleError('ECONFIG', 'image config field config must be an object');
  checkShape(opts);
  const userMounts = buildUserMounts(opts.mounts ?? []);
  const cfg = overrideImageConfig(cfgRaw as Record<string, unknown>, opts) as Record<string, unknown>;

  const os = optString(image.os, 'os');
  if (os !== undefined && os !== '' && os !== 'linux') {
    throw new OciBundleError('ECONFIG', `image config os is ${JSON.stringify(os)}: only linux images can become runtime bundles`);
  }

  // process
  const user = resolveUser(optString(cfg.User, 'config.User'), opts.passwd, opts.group);
  const envIn = stringList(cfg.Env, 'config.Env', SPEC_LIMITS.envEntries);
  const env = mergeEnv(envIn, warn);
  if (!env.hasHome && opts.passwd !== null) {
    // What runc, crun and Docker do at start when HOME is unset: the passwd entry's home, or /
    // for a user without one. Without a passwd to read (no rootfs), HOME stays unset so the
    // runtime fills it in from the rootfs it starts (umoci leaves it out too).
    const home = `HOME=${user.home ?? '/'}`;
    env.env.push(home);
    env.bytes += Buffer.byteLength(home) + 1;
  }
  const args = buildArgs(stringList(cfg.Entrypoint, 'config.Entrypoint', SPEC_LIMITS.argEntries), stringList(cfg.Cmd, 'config.Cmd', SPEC_LIMITS.argEntries), warn);
  if (env.bytes + args.bytes > SPEC_LIMITS.execBytes) {
    throw new OciBundleError('ELIMIT', `image config args and env add up to ${env.bytes + args.bytes} bytes, more than ${SPEC_LIMITS.execBytes}`);
  }
  const cwd = buildCwd(optString(cfg.WorkingDir, 'config.WorkingDir'), warn);

  // annotations
  const features = stringList(image['os.features'], 'os.features', 64);
  const ports = objectKeys(cfg.ExposedPorts, 'config.ExposedPorts', SPEC_LIMITS.exposedPorts).filter((p) => p !== '').sort();
  const annotations = buildAnnotations(
    [
      [ANNOTATION.os, os],
      [ANNOTATION.architecture, optString(image.architecture, 'architecture')],
      [ANNOTATION.variant, optString(image.variant, 'variant')],
      [ANNOTATION.osVersion, optString(image['os.version'], 'os.version')],
      [ANNOTATION.osFeatures, features.join(',')],
      [ANNOTATION.author, optString(image.author, 'author')],
      [ANNOTATION.created, optString(image.created, 'created')],
      [ANNOTATION.stopSignal, optString(cfg.StopSignal, 'config.StopSignal')],
      [ANNOTATION.exposedPorts, ports.join(',')],
    ],
    cfg.Labels,
    warn,
  );
  const volumeKeys = objectKeys(cfg.Volumes, 'config.Volumes', SPEC_LIMITS.volumes);

  const spec: RuntimeSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: opts.tty === true,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids?.length ? { additionalGids: user.additionalGids } : {}) },
      args: args.args,
      env: env.env,
      cwd,
      capabilities: defaultCapabilities(),
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: rootfsPath, readonly: false },
    hostname,
    mounts: defaultMounts(),
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    linux: defaultLinux(),
  };

  // user namespace: rootless, or any explicit map
  const rootless = opts.rootless === true;
  if (rootless || (opts.uidMap?.length ?? 0) > 0 || (opts.gidMap?.length ?? 0) > 0) {
    const uidMap = opts.uidMap?.length ? opts.uidMap : defaultMap(opts.hostUid, process.geteuid);
    const gidMap = opts.gidMap?.length ? opts.gidMap : defaultMap(opts.hostGid, process.getegid);
    checkIdMaps(uidMap, 'uid');
    checkIdMaps(gidMap, 'gid');
    addUserNamespace(spec.linux, uidMap, gidMap);
    if (rootless) {
      makeRootless(spec, opts.hostHasResolvConf === true);
      if (spec.process.user.additionalGids) {
        warn({ code: 'WGROUPS', message: `supplementary groups ${spec.process.user.additionalGids.join(',')} dropped: setgroups is denied in a rootless user namespace` });
        delete spec.process.user.additionalGids;
      }
    }
    // The kernel refuses devpts's gid=5 (and any uid=/gid= option) that the maps do not cover.
    dropUnmappedIdOptions(spec, (kind, id) => isMapped(kind === 'uid' ? uidMap : gidMap, id));
    const u = spec.process.user;
    if (!isMapped(uidMap, u.uid)) warn({ code: 'WUNMAPPED', message: `process uid ${u.uid} is not covered by the uid map: the runtime will refuse to start it` });
    for (const g of [u.gid, ...(u.additionalGids ?? [])]) {
      if (!isMapped(gidMap, g)) warn({ code: 'WUNMAPPED', message: `process gid ${g} is not covered by the gid map: the runtime will refuse to start it` });
    }
  }

  if (opts.net === 'host') useHostNetwork(spec, opts.hostHasResolvConf === true);
  if (opts.volumes !== false) {
    // A caller's mount replaces an image volume at the same place.
    const taken = new Set(userMounts.map((m) => m.destination));
    spec.mounts.push(...buildVolumeMounts(volumeKeys, warn).filter((m) => !taken.has(m.destination)));
  }
  spec.mounts.push(...userMounts);
  shapeSpec(spec, opts);

  try {
    validateRuntimeConfig(spec);
  } catch (e) {
    throw new OciBundleError('ECONFIG', `generated runtime config does not validate: ${(e as Error).message}`, { cause: e });
  }
  const broken = runtimeRuleViolation(spec);
  if (broken !== null) throw new OciBundleError('ECONFIG', `generated runtime config would be refused by runtimes: ${broken}`);
  return opts.configPatch === undefined ? spec : patchSpec(spec, opts.configPatch);
}
