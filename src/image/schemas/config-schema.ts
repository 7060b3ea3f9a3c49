// Compact schema of an image config (OCI config or Docker container image v1). Data only.
// Docker writes null for empty maps and lists; those nulls are accepted here and dropped
// by the reader, so the typed config never carries them.
import { stringMapSchema } from './common.js';

const strings = { type: 'array', items: { type: 'string' } } as const;
const stringsOrNull = { type: ['array', 'null'], items: { type: 'string' } } as const;
const objectMapOrNull = { type: ['object', 'null'], additionalProperties: { type: 'object' } } as const;

export const configSchema = {
  $id: 'ocibundle:image-config',
  type: 'object',
  required: ['architecture', 'os', 'rootfs'],
  properties: {
    created: { type: 'string' },
    author: { type: 'string' },
    architecture: { type: 'string' },
    os: { type: 'string' },
    'os.version': { type: 'string' },
    'os.features': strings,
    variant: { type: 'string' },
    config: {
      type: ['object', 'null'],
      properties: {
        User: { type: 'string' },
        ExposedPorts: objectMapOrNull,
        Env: stringsOrNull,
        Entrypoint: stringsOrNull,
        Cmd: stringsOrNull,
        Volumes: objectMapOrNull,
        WorkingDir: { type: 'string' },
        Labels: { anyOf: [stringMapSchema, { type: 'null' }] },
        StopSignal: { type: 'string' },
        ArgsEscaped: { type: 'boolean' },
      },
    },
    rootfs: {
      type: 'object',
      required: ['type', 'diff_ids'],
      properties: {
        type: { const: 'layers' },
        diff_ids: strings,
      },
    },
    history: {
      type: ['array', 'null'],
      items: {
        type: 'object',
        properties: {
          created: { type: 'string' },
          author: { type: 'string' },
          created_by: { type: 'string' },
          comment: { type: 'string' },
          empty_layer: { type: 'boolean' },
        },
      },
    },
  },
} as const;
