// Compact schema of an image manifest (OCI manifest or Docker schema 2 manifest). Data only.
import { descriptorSchema, mediaTypeSchema, stringMapSchema } from './common.js';

export const manifestSchema = {
  $id: 'ocibundle:image-manifest',
  type: 'object',
  required: ['schemaVersion', 'config', 'layers'],
  properties: {
    schemaVersion: { const: 2 },
    mediaType: mediaTypeSchema,
    artifactType: mediaTypeSchema,
    config: descriptorSchema,
    layers: { type: 'array', items: descriptorSchema },
    subject: descriptorSchema,
    annotations: stringMapSchema,
  },
} as const;
