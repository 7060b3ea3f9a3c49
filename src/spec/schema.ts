// The compact JSON schema (draft-07, for ajv's default build) of the runtime-spec config.json
// this package writes and accepts: the runtime-spec's rules for the fields we use, stricter
// where runc needs it (absolute cwd and destinations, NAME=value env). Data only.

const uint32 = { type: 'integer', minimum: 0, maximum: 4294967295 } as const;
const uint64 = { type: 'integer', minimum: 0 } as const;
const absPath = { type: 'string', pattern: '^/[^\\x00]*$' } as const;
const stringArray = { type: 'array', items: { type: 'string' } } as const;
const capList = { type: 'array', items: { type: 'string', pattern: '^CAP_[A-Z0-9_]+$' } } as const;

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
        resources: {
          type: 'object',
          properties: {
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
