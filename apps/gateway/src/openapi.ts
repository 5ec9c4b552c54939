import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  OpenApiGeneratorV31,
  OpenAPIRegistry,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import {
  errorBodySchema,
  KEYS_UNIQUENESS_RULE,
  SHARED_HEADERS,
  UNAUTHORIZED_BODY,
  type HttpLimits,
  type ResponseDeclaration,
  type RouteDeclaration,
} from '@lockkeys/contracts';

/** The document {@link createOpenApiDocument} builds (OpenAPI 3.1). */
export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/** Names of the security schemes; an operation on `/locks` needs both at once. */
const BEARER_JWT = 'bearerJwt';
const API_KEY = 'apiKey';

// Read once; the same file ships in the image next to dist/.
const GATEWAY_VERSION = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string })
  .version;

/** `lockId` as the number it stands for, so generated clients take the number every response carries. */
const LOCK_ID_PARAMETER_SCHEMA = { type: 'integer', format: 'int64', minimum: 1, maximum: Number.MAX_SAFE_INTEGER };

type Headers = NonNullable<ResponseConfig['headers']>;

function headersOf(declared: ResponseDeclaration['headers']): Headers {
  const headers: Headers = { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } };
  for (const [name, header] of Object.entries(declared ?? {})) {
    headers[name] = typeof header === 'string' ? { $ref: `#/components/headers/${header}` } : { ...header };
  }
  return headers;
}

function responseOf(status: number, response: ResponseDeclaration): ResponseConfig {
  const base = { description: response.description, headers: headersOf(response.headers) };
  switch (response.kind) {
    case 'json':
      return {
        ...base,
        content: {
          'application/json': {
            schema: response.schema,
            ...(response.example !== undefined && { example: response.example }),
          },
        },
      };
    case 'error':
      return {
        ...base,
        content: {
          'application/json': { schema: errorBodySchema, ...(status === 401 && { example: UNAUTHORIZED_BODY }) },
        },
      };
    case 'raw':
      return {
        ...base,
        content: Object.fromEntries(
          response.contentTypes.map((type) => [
            type,
            { schema: { type: type === 'application/json' ? 'object' : 'string' } },
          ]),
        ),
      };
  }
}

function requestOf(declaration: RouteDeclaration): RouteConfig['request'] {
  const { params, query, headers, body } = declaration.request;
  return {
    ...(params !== undefined && { params }),
    ...(query !== undefined && { query }),
    ...(headers !== undefined && { headers }),
    ...(body !== undefined && {
      body: {
        required: true,
        description: body.description,
        content: {
          'application/json': { schema: body.schema, ...(body.example !== undefined && { example: body.example }) },
        },
      },
    }),
  };
}

/**
 * The gateway's OpenAPI 3.1 document, generated from the same route declarations the app serves (the body schema
 * with this deployment's limits), so it lists exactly the served routes.
 */
export function createOpenApiDocument(routes: Record<string, RouteDeclaration>, limits: HttpLimits): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  for (const [name, header] of Object.entries(SHARED_HEADERS)) registry.registerComponent('headers', name, header);
  registry.registerComponent('securitySchemes', BEARER_JWT, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A JWT signed with the configured algorithm only (HS256, RS256 or ES256; never `none`). `sub` is required; ' +
      "`exp`/`nbf` are enforced when present, `iss`/`aud` when configured. An `org` claim must equal the API key's organization.",
  });
  registry.registerComponent('securitySchemes', API_KEY, {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: 'The API key of your organization. Send it together with the bearer JWT.',
  });

  for (const declaration of Object.values(routes)) {
    registry.registerPath({
      method: declaration.method,
      path: declaration.path,
      operationId: declaration.operationId,
      tags: [declaration.tag],
      summary: declaration.summary,
      ...(declaration.description !== undefined && { description: declaration.description }),
      security: declaration.authenticated ? [{ [BEARER_JWT]: [], [API_KEY]: [] }] : [],
      request: requestOf(declaration),
      responses: Object.fromEntries(
        Object.entries(declaration.responses).map(([status, response]) => [
          status,
          responseOf(Number(status), response),
        ]),
      ),
    });
  }

  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'lockkeys gateway',
      version: GATEWAY_VERSION,
      description: [
        'Programs many access keys onto one smart lock: post the keys, get an `instanceId` at once, and follow',
        'the durable run that sends them to the lock one after another.',
        '',
        `Limits of this gateway: at most ${limits.maxKeysPerRequest} keys per request, \`keyIndexNumber\` from 0 to`,
        `${limits.maxKeyIndex}, bodies of at most ${limits.maxBodyBytes} bytes, ${limits.rateLimitPerMinute} requests`,
        `per API key per minute on \`/locks/...\`, at most ${limits.maxActiveRunsPerLock} runs queued, running or`,
        'paused per lock.',
        '',
        KEYS_UNIQUENESS_RULE,
        '',
        'Every error is JSON `{ "error", "message", "code", "details"? }` (schema `ErrorBody`). Beyond the answers',
        'listed per operation: a method a path does not serve is `405` with `Allow`; any unknown path is `404`; a',
        'request the HTTP parser refuses is `400`, `408` (too slow) or `431` (headers over 16 KiB). Every answer',
        'carries `X-Request-Id`.',
      ].join('\n'),
    },
    tags: [
      {
        name: 'Runs',
        description: 'Start, list, read, cancel, pause and resume BulkAddKeys runs. Needs a bearer JWT and an API key.',
      },
      { name: 'Operations', description: 'Probes, metrics and documentation. No credentials.' },
    ],
  });
  typeLockIdAsInteger(document);
  return document;
}

/**
 * The path spells `lockId` in decimal digits and the gateway parses them strictly, but what it stands for is the
 * integer every response carries: the document says so, for client generators.
 */
function typeLockIdAsInteger(document: OpenApiDocument): void {
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item) as {
      parameters?: { name?: string; in?: string; schema?: unknown }[];
    }[]) {
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in === 'path' && parameter.name === 'lockId') parameter.schema = { ...LOCK_ID_PARAMETER_SCHEMA };
      }
    }
  }
}
