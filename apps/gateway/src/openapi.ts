import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  OpenApiGeneratorV31,
  OpenAPIRegistry,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import {
  bulkAddKeysAcceptedSchema,
  bulkAddKeysBodySchema,
  errorBodySchema,
  idempotencyKeySchema,
  instanceIdSchema,
  lockIdSchema,
  runStatusBodySchema,
  UNAUTHORIZED_BODY,
} from '@lockkeys/contracts';
import { z } from 'zod';
import type { GatewayConfig } from './config';
import { DOCS_ASSETS } from './docs';

/** The document {@link createOpenApiDocument} builds (OpenAPI 3.1). */
export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/** Names of the security schemes; an operation on `/locks` needs both at once. */
const BEARER_JWT = 'bearerJwt';
const API_KEY = 'apiKey';

// Read once; the same file ships in the image next to dist/.
const GATEWAY_VERSION = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string })
  .version;

/** One response header, as a plain OpenAPI header object (a type alias: openapi3-ts wants an index signature). */
type Header = {
  description: string;
  required?: boolean;
  schema: { type: 'string' | 'integer'; minimum?: number; enum?: string[] };
};
/** Response headers: inline, or a reference to one of {@link SHARED_HEADERS}. */
type Headers = Record<string, Header | { $ref: string }>;

/** Headers of many answers, written once under `components/headers`. */
const SHARED_HEADERS: Record<string, Header> = {
  'X-Request-Id': {
    description: "Identifies the request in the gateway's logs; a caller's own sane `X-Request-Id` is echoed.",
    schema: { type: 'string' },
    required: true,
  },
  // express-rate-limit's draft-8 headers, on every answer after authentication.
  RateLimit: {
    description:
      'Requests left for this API key in the current window and seconds until it resets, e.g. `"120-in-1min"; r=119; t=60`.',
    schema: { type: 'string' },
  },
  'RateLimit-Policy': {
    description: 'The per-API-key limit, e.g. `"120-in-1min"; q=120; w=60`.',
    schema: { type: 'string' },
  },
};
const sharedHeader = (name: string) => ({ [name]: { $ref: `#/components/headers/${name}` } });
const requestIdHeader: Headers = sharedHeader('X-Request-Id');
const rateLimitHeaders: Headers = { ...sharedHeader('RateLimit'), ...sharedHeader('RateLimit-Policy') };

const jsonError = (status: number, description: string, headers: Headers = {}): ResponseConfig => ({
  description,
  headers: { ...requestIdHeader, ...headers },
  content: {
    'application/json': {
      schema: errorBodySchema,
      ...(status === 401 && { example: UNAUTHORIZED_BODY }),
    },
  },
});

/** The answers every authenticated route can give, whatever it does. */
function lockRouteErrors(): RouteConfig['responses'] {
  return {
    400: jsonError(400, '`lockId` is not a positive decimal integer up to 2^53−1.', rateLimitHeaders),
    401: jsonError(
      401,
      'The JWT or the API key is missing, malformed, expired, wrongly signed or unknown. Always the same body; ' +
        'the reason is logged on the server with the request id.',
      {
        'WWW-Authenticate': {
          description: 'Always `Bearer realm="lockkeys"`.',
          schema: { type: 'string' },
          required: true,
        },
      },
    ),
    403: jsonError(
      403,
      "The API key's organization may not manage this lock, or the JWT `org` claim is not the API key's organization.",
      rateLimitHeaders,
    ),
    429: jsonError(429, 'Over the per-API-key rate limit. Requests that fail authentication are never counted.', {
      ...rateLimitHeaders,
      'Retry-After': {
        description: 'Seconds until the limit resets.',
        schema: { type: 'integer', minimum: 0 },
        required: true,
      },
    }),
    500: jsonError(500, 'A bug in the gateway; the body never says more.', rateLimitHeaders),
    503: jsonError(503, 'Temporal is unreachable; nothing was started or changed. Retry later.', rateLimitHeaders),
  };
}

const runNotFound = (): ResponseConfig =>
  jsonError(
    404,
    'No such run for this lock: unknown, malformed, or belonging to another organization or lock (all look alike).',
    rateLimitHeaders,
  );

const statusBody = (description: string): ResponseConfig => ({
  description,
  headers: { ...requestIdHeader, ...rateLimitHeaders },
  content: { 'application/json': { schema: runStatusBodySchema } },
});

const operationsOk = z.object({ status: z.literal('ok') }).meta({ id: 'OperationsOk' });

/**
 * The gateway's OpenAPI 3.1 document, generated from the zod schemas that validate requests (the body schema
 * with the configured limits) and the response schemas of `@lockkeys/contracts`. Every route the app serves is
 * here; `openapi.test.ts` checks that against the app's router.
 */
export function createOpenApiDocument(limits: GatewayConfig['limits']): OpenApiDocument {
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
  const bothCredentials = [{ [BEARER_JWT]: [], [API_KEY]: [] }];

  const lockParams = z.object({ lockId: lockIdSchema });
  const runParams = z.object({ lockId: lockIdSchema, instanceId: instanceIdSchema });
  const errors = lockRouteErrors();

  registry.registerPath({
    method: 'post',
    path: '/locks/{lockId}/BulkAddKeys',
    operationId: 'startBulkAddKeys',
    tags: ['Runs'],
    summary: 'Add keys to a lock',
    description:
      'Starts one durable run that sends the keys to the lock one after another, at least the configured gap ' +
      "apart, retrying each until it sticks or fails for good. Answers at once with the run's `instanceId`.",
    security: bothCredentials,
    request: {
      params: lockParams,
      headers: z.object({ 'Idempotency-Key': idempotencyKeySchema.optional() }),
      body: {
        required: true,
        description: `At most ${limits.maxBodyBytes} bytes of UTF-8 JSON.`,
        content: {
          'application/json': {
            schema: bulkAddKeysBodySchema(limits).meta({ id: 'BulkAddKeysBody' }),
            example: {
              keys: [{ keyUuid: '6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70', keyIndexNumber: 42, userId: 'user-7' }],
            },
          },
        },
      },
    },
    responses: {
      202: {
        description: 'The run was started, or (same Idempotency-Key, same body) the earlier run is returned.',
        headers: {
          ...requestIdHeader,
          ...rateLimitHeaders,
          Location: {
            description: 'The run: `/locks/{lockId}/BulkAddKeys/{instanceId}`.',
            schema: { type: 'string' },
            required: true,
          },
          'Idempotent-Replayed': {
            description:
              '`true` when an earlier request with this Idempotency-Key started the run; nothing new was started.',
            schema: { type: 'string', enum: ['true'] },
          },
        },
        content: { 'application/json': { schema: bulkAddKeysAcceptedSchema } },
      },
      ...errors,
      400: jsonError(
        400,
        'Malformed JSON, a body that breaks the schema (each problem in `details`), a bad `lockId` or a bad Idempotency-Key.',
        rateLimitHeaders,
      ),
      409: jsonError(409, 'The Idempotency-Key was used before with a different body.', rateLimitHeaders),
      413: jsonError(413, `The body is over ${limits.maxBodyBytes} bytes.`, rateLimitHeaders),
      415: jsonError(415, 'The body is not `application/json` in UTF-8, or is compressed.', rateLimitHeaders),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/locks/{lockId}/BulkAddKeys/{instanceId}',
    operationId: 'getBulkAddKeysRun',
    tags: ['Runs'],
    summary: 'Read a run',
    description: 'Where the run stands and the outcome of each key so far; readable while the run goes on.',
    security: bothCredentials,
    request: { params: runParams },
    responses: { 200: statusBody('The run.'), ...errors, 404: runNotFound() },
  });

  registry.registerPath({
    method: 'post',
    path: '/locks/{lockId}/BulkAddKeys/{instanceId}/cancel',
    operationId: 'cancelBulkAddKeysRun',
    tags: ['Runs'],
    summary: 'Cancel a run',
    description:
      'Keys not yet sent end `cancelled`; a command already sent to the lock finishes first. Takes no body ' +
      '(any body is ignored).',
    security: bothCredentials,
    request: { params: runParams },
    responses: {
      202: statusBody('Cancellation was requested; the run as it stands.'),
      ...errors,
      404: runNotFound(),
      409: jsonError(409, 'The run has already closed; there is nothing to cancel.', rateLimitHeaders),
    },
  });

  const plain = (description: string, mediaType: string): ResponseConfig => ({
    description,
    headers: requestIdHeader,
    content: { [mediaType]: { schema: { type: 'string' } } },
  });
  const operations: Array<
    Pick<RouteConfig, 'path' | 'operationId' | 'summary' | 'description' | 'responses'> & {
      request?: RouteConfig['request'];
    }
  > = [
    {
      path: '/healthz',
      operationId: 'healthz',
      summary: 'Liveness',
      description: 'The process is up. Checks nothing else.',
      responses: {
        200: {
          description: 'Alive.',
          headers: requestIdHeader,
          content: { 'application/json': { schema: operationsOk } },
        },
      },
    },
    {
      path: '/readyz',
      operationId: 'readyz',
      summary: 'Readiness',
      description: 'Temporal answers: requests can be served.',
      responses: {
        200: {
          description: 'Ready.',
          headers: requestIdHeader,
          content: { 'application/json': { schema: operationsOk } },
        },
        503: jsonError(503, 'Temporal is not reachable.'),
      },
    },
    {
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      description:
        'Prometheus text format: HTTP requests by route pattern, method and status; workflows started; ' +
        'authentication failures by reason; rate-limited requests; Node.js process metrics. No credentials: ' +
        'keep it off the public edge.',
      responses: {
        200: plain('The metrics.', 'text/plain'),
        500: jsonError(500, 'The metrics could not be collected.'),
      },
    },
    {
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This document',
      responses: {
        200: {
          description: 'OpenAPI 3.1.',
          headers: requestIdHeader,
          content: { 'application/json': { schema: { type: 'object' } } },
        },
      },
    },
    {
      path: '/docs',
      operationId: 'docs',
      summary: 'API reference page',
      description: 'Swagger UI on this document, served entirely by the gateway.',
      responses: { 200: plain('The page.', 'text/html') },
    },
    {
      path: '/docs/{asset}',
      operationId: 'docsAsset',
      summary: 'Files of the API reference page',
      request: {
        params: z.object({
          asset: z.enum(Object.keys(DOCS_ASSETS) as [string, ...string[]]).meta({ description: 'A file of the page.' }),
        }),
      },
      responses: {
        200: {
          description: 'The file.',
          headers: requestIdHeader,
          content: {
            'text/css': { schema: { type: 'string' } },
            'text/javascript': { schema: { type: 'string' } },
            'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } },
          },
        },
        404: jsonError(404, 'No such file.'),
      },
    },
  ];
  for (const operation of operations) {
    registry.registerPath({ method: 'get', tags: ['Operations'], security: [], ...operation });
  }

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
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
        'per API key per minute on `/locks/...`.',
        '',
        'Every error is JSON `{ "error", "message", "code", "details"? }` (schema `ErrorBody`). Beyond the answers',
        'listed per operation: any unknown path or method is `404`; a request the HTTP parser refuses is `400`,',
        '`408` (too slow) or `431` (headers over 16 KiB). Every answer carries `X-Request-Id`.',
      ].join('\n'),
    },
    tags: [
      { name: 'Runs', description: 'Start, read and cancel BulkAddKeys runs. Needs a bearer JWT and an API key.' },
      { name: 'Operations', description: 'Probes, metrics and documentation. No credentials.' },
    ],
  });
}
