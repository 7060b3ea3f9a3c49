// Compact schema of an image index (OCI index or Docker manifest list). Data only.
import { descriptorSchema, mediaTypeSchema, stringMapSchema } from './common.js';

export const indexSchema = {
  $id: 'ocibundle:image-index',
  type: 'object',
  required: ['schemaVersion', 'manifests'],
  properties: {
    schemaVersion: { const: 2 },
    mediaType: mediaTypeSchema,
    artifactType: mediaTypeSchema,
    manifests: { type: 'array', items: descriptorSchema },
    subject: descriptorSchema,
    annotations: stringMapSchema,
  },
} as const;
