// The compact JSON schema (draft-07, for ajv's default build) of the runtime-spec config.json
// this package writes and accepts (also after a caller's --config-patch): the runtime-spec's
// rules for the fields we write and those a patch commonly adds (hooks, seccomp, sysctl,
// devices, resources), stricter where runc needs it (absolute cwd and destinations,
// NAME=value env). Data only.

const uint32 = { type: 'integer', minimum: 0, maximum: 4294967295 } as const;
const uint64 = { type: 'integer', minimum: 0 } as const;
const absPath = { type: 'string', pattern: '^/[^\\x00]*$' } as const;
const stringArray = { type: 'array', items: { type: 'string' } } as const;
const capList = { type: 'array', items: { type: 'string', pattern: '^CAP_[A-Z0-9_]+$' } } as const;

const int64 = { type: 'integer' } as const;
const hookList = {
  type: 'array',
  items: {
    type: 'object',
    required: ['path'],
    properties: { path: { type: 'string', minLength: 1 }, args: stringArray, env: stringArray, timeout: { type: 'integer', minimum: 1 } },
  },
} as const;
const SECCOMP_ACTIONS = ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY'];

const idMapping = {
  type: 'object',
  required: ['containerID', 'hostID', 'size'],
  properties: { containerID: uint32, hostID: uint32, size: { ...uint32, minimum: 1 } },
} as const;

export const runtimeConfigSchema = {
  $id: 'https://ocibundle.invalid/schemas/runtime-config.json',
  type: 'object',
  required: ['ociVersion', 'root', 'process'],
  properties: {
    ociVersion: { type: 'string', pattern: '^1\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$' },
    root: {
      type: 'object',
      required: ['path'],
      properties: { path: { type: 'string', minLength: 1 }, readonly: { type: 'boolean' } },
    },
    hostname: { type: 'string' },
    domainname: { type: 'string' },
    hooks: {
      type: 'object',
      properties: { prestart: hookList, createRuntime: hookList, createContainer: hookList, startContainer: hookList, poststart: hookList, poststop: hookList },
    },
    process: {
      type: 'object',
      required: ['cwd', 'args', 'user'],
      properties: {
        terminal: { type: 'boolean' },
        user: {
          type: 'object',
          required: ['uid', 'gid'],
          properties: { uid: uint32, gid: uint32, umask: uint32, additionalGids: { type: 'array', items: uint32 } },
        },
        args: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^\\x00]*$' } },
        env: { type: 'array', items: { type: 'string', pattern: '^[^=\\x00]+=[^\\x00]*$' } },
        cwd: absPath,
        capabilities: {
          type: 'object',
          properties: { bounding: capList, effective: capList, inheritable: capList, permitted: capList, ambient: capList },
        },
        rlimits: {
          type: 'array',
          items: {
            type: 'object',
            required: ['type', 'soft', 'hard'],
            properties: { type: { type: 'string', pattern: '^RLIMIT_[A-Z]+$' }, soft: uint64, hard: uint64 },
          },
        },
        noNewPrivileges: { type: 'boolean' },
        apparmorProfile: { type: 'string' },
        selinuxLabel: { type: 'string' },
        oomScoreAdj: { type: 'integer' },
        consoleSize: { type: 'object', required: ['height', 'width'], properties: { height: uint64, width: uint64 } },
      },
    },
    mounts: {
      type: 'array',
      items: {
        type: 'object',
        required: ['destination'],
        properties: { destination: absPath, type: { type: 'string' }, source: { type: 'string' }, options: stringArray },
      },
    },
    annotations: {
      type: 'object',
      propertyNames: { minLength: 1 },
      additionalProperties: { type: 'string' },
    },
    linux: {
      type: 'object',
      properties: {
        uidMappings: { type: 'array', items: idMapping },
        gidMappings: { type: 'array', items: idMapping },
        namespaces: {
          type: 'array',
          items: {
            type: 'object',
            required: ['type'],
            properties: {
              type: { type: 'string', enum: ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] },
              path: { type: 'string' },
            },
          },
        },
        sysctl: { type: 'object', additionalProperties: { type: 'string' } },
        cgroupsPath: { type: 'string' },
        rootfsPropagation: { type: 'string', enum: ['private', 'shared', 'slave', 'unbindable'] },
        devices: {
          type: 'array',
          items: {
            type: 'object',
            required: ['type', 'path'],
            properties: { type: { type: 'string', pattern: '^[cbup]$' }, path: absPath, major: int64, minor: int64, fileMode: uint32, uid: uint32, gid: uint32 },
          },
        },
        seccomp: {
          type: 'object',
          required: ['defaultAction'],
          properties: {
            defaultAction: { type: 'string', enum: SECCOMP_ACTIONS },
            defaultErrnoRet: uint32,
            architectures: stringArray,
            flags: stringArray,
            syscalls: {
              type: 'array',
              items: {
                type: 'object',
                required: ['names', 'action'],
                properties: { names: { ...stringArray, minItems: 1 }, action: { type: 'string', enum: SECCOMP_ACTIONS }, errnoRet: uint32 },
              },
            },
          },
        },
        resources: {
          type: 'object',
          properties: {
            memory: {
              type: 'object',
              properties: { limit: int64, reservation: int64, swap: int64, kernel: int64, kernelTCP: int64, swappiness: uint64, disableOOMKiller: { type: 'boolean' } },
            },
            pids: { type: 'object', required: ['limit'], properties: { limit: int64 } },
            cpu: {
              type: 'object',
              properties: { shares: uint64, quota: int64, period: uint64, realtimeRuntime: int64, realtimePeriod: uint64, cpus: { type: 'string' }, mems: { type: 'string' } },
            },
            devices: {
              type: 'array',
              items: {
                type: 'object',
                required: ['allow'],
                properties: { allow: { type: 'boolean' }, access: { type: 'string', pattern: '^[rwm]{0,3}$' }, type: { type: 'string' } },
              },
            },
          },
        },
        maskedPaths: { type: 'array', items: absPath },
        readonlyPaths: { type: 'array', items: absPath },
      },
    },
  },
} as const;
