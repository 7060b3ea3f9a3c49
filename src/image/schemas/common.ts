// Compact JSON Schemas (draft-07, for ajv's default build) shared by the image schemas:
// media type, digest, size, annotations, platform and descriptor. Data only; the product
// carries these so it never needs the official draft-04 files at run time.

export const mediaTypeSchema = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$',
} as const;

export const digestSchema = {
  type: 'string',
  pattern: '^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$',
} as const;

export const sizeSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

export const stringMapSchema = { type: 'object', additionalProperties: { type: 'string' } } as const;

export const platformSchema = {
  type: 'object',
  required: ['architecture', 'os'],
  properties: {
    architecture: { type: 'string' },
    os: { type: 'string' },
    'os.version': { type: 'string' },
    'os.features': { type: 'array', items: { type: 'string' } },
    variant: { type: 'string' },
    features: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const descriptorSchema = {
  type: 'object',
  required: ['mediaType', 'digest', 'size'],
  properties: {
    mediaType: mediaTypeSchema,
    digest: digestSchema,
    size: sizeSchema,
    urls: { type: 'array', items: { type: 'string' } },
    annotations: stringMapSchema,
    data: { type: 'string', pattern: '^[A-Za-z0-9+/]*={0,2}$' },
    platform: platformSchema,
    artifactType: mediaTypeSchema,
  },
} as const;
