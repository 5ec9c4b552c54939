/**
 * The HTTP API, declared once. Each route says its method, path, request schemas, responses and errors;
 * the gateway registers its Express routes from this list, builds the OpenAPI document from it, and infers
 * its handlers' types from it; the typed test client takes each route's path and answers from it by `operationId`.
 */
import { z } from 'zod';
import { type ErrorStatus } from './errors';
import {
  type BulkAddKeysLimits,
  bulkAddKeysAcceptedSchema,
  bulkAddKeysBodySchema,
  idempotencyKeySchema,
  instanceIdSchema,
  lockIdSchema,
  runListQuerySchema,
  runListSchema,
  runStatusBodySchema,
  webhookListSchema,
} from './run';

/** Limits that the declarations mention (body schema, descriptions). */
export interface HttpLimits extends BulkAddKeysLimits {
  maxBodyBytes: number;
  rateLimitPerMinute: number;
  maxActiveRunsPerLock: number;
}

/** A response header, as OpenAPI describes it. */
export interface HeaderDeclaration {
  description: string;
  required?: boolean;
  schema: { type: 'string' | 'integer'; minimum?: number; enum?: string[] };
}

/** Headers written once and referenced by name (`components/headers`). */
export const SHARED_HEADERS = {
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
} as const satisfies Record<string, HeaderDeclaration>;
export type SharedHeaderName = keyof typeof SHARED_HEADERS;

/** A JSON answer with its schema. */
export interface JsonResponse<S extends z.ZodType = z.ZodType> {
  kind: 'json';
  description: string;
  schema: S;
  example?: unknown;
  headers?: Record<string, HeaderDeclaration | SharedHeaderName>;
}
/** A non-JSON answer (Prometheus text, HTML, static files): served by an operations handler as is. */
export interface RawResponse {
  kind: 'raw';
  description: string;
  contentTypes: string[];
  headers?: Record<string, HeaderDeclaration | SharedHeaderName>;
}
/** An error answer: SPEC's error body. */
export interface ErrorResponse {
  kind: 'error';
  description: string;
  headers?: Record<string, HeaderDeclaration | SharedHeaderName>;
}
export type ResponseDeclaration = JsonResponse | RawResponse | ErrorResponse;

/** One route of the API. */
export interface RouteDeclaration {
  operationId: string;
  method: 'get' | 'post';
  /** OpenAPI template: `/locks/{lockId}/BulkAddKeys`. */
  path: string;
  tag: 'Runs' | 'Webhooks' | 'Operations';
  summary: string;
  description?: string;
  /** Needs both credentials (bearer JWT and `X-API-Key`); then rate-limited per API key. */
  authenticated: boolean;
  request: {
    params?: z.ZodObject;
    /** A declared query is strict: anything it does not name is 400. Undeclared, the query is ignored. */
    query?: z.ZodObject;
    headers?: z.ZodObject;
    body?: { schema: z.ZodType; description: string; example?: unknown };
  };
  responses: { [status: number]: ResponseDeclaration };
}

const json = <S extends z.ZodType>(
  description: string,
  schema: S,
  headers?: JsonResponse['headers'],
): JsonResponse<S> => ({ kind: 'json', description, schema, ...(headers && { headers }) });
const raw = (description: string, ...contentTypes: string[]): RawResponse => ({
  kind: 'raw',
  description,
  contentTypes,
});
const error = (description: string, headers?: ErrorResponse['headers']): ErrorResponse => ({
  kind: 'error',
  description,
  ...(headers && { headers }),
});

const RATE_LIMIT_HEADERS = { RateLimit: 'RateLimit', 'RateLimit-Policy': 'RateLimit-Policy' } as const;
const RETRY_AFTER: HeaderDeclaration = {
  description: 'Seconds to wait before trying again.',
  schema: { type: 'integer', minimum: 0 },
  required: true,
};

/** The answers every authenticated route can give, whatever it does. */
function authenticatedErrors(limits: HttpLimits) {
  return {
    400: error('`lockId` is not a positive decimal integer up to 2^53−1.', RATE_LIMIT_HEADERS),
    401: error(
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
    403: error(
      "The API key's organization may not manage this lock, or the JWT `org` claim is not the API key's organization.",
      RATE_LIMIT_HEADERS,
    ),
    429: error(
      `Over the per-API-key rate limit (${limits.rateLimitPerMinute} requests per minute). Requests that fail ` +
        'authentication are never counted.',
      { ...RATE_LIMIT_HEADERS, 'Retry-After': RETRY_AFTER },
    ),
    500: error('A bug in the gateway; the body never says more.', RATE_LIMIT_HEADERS),
    503: error('Temporal is unreachable; nothing was started or changed. Retry after the seconds in Retry-After.', {
      ...RATE_LIMIT_HEADERS,
      'Retry-After': RETRY_AFTER,
    }),
  } satisfies { [S in ErrorStatus]?: ErrorResponse };
}

/** What `/webhooks` can answer besides 200: no `lockId`, no lock to be refused. */
function webhooksErrors(limits: HttpLimits) {
  const { 400: _lockId, ...errors } = authenticatedErrors(limits);
  return {
    ...errors,
    403: error("The JWT `org` claim is not the API key's organization.", RATE_LIMIT_HEADERS),
  } satisfies { [S in ErrorStatus]?: ErrorResponse };
}

const runNotFound = error(
  'No such run for this lock: unknown, malformed, or belonging to another organization or lock (all look alike).',
  RATE_LIMIT_HEADERS,
);
const runClosed = (what: string) =>
  error(`The run has already closed; there is nothing to ${what}.`, RATE_LIMIT_HEADERS);
const statusBody = (description: string) => json(description, runStatusBodySchema, RATE_LIMIT_HEADERS);

const lockParams = z.object({ lockId: lockIdSchema });
const runParams = z.object({ lockId: lockIdSchema, instanceId: instanceIdSchema });
const operationsOk = z.object({ status: z.literal('ok') }).meta({ id: 'OperationsOk' });

/** Identity with the literal types kept, so handlers and clients can be typed from each declaration. */
const route = <const R extends RouteDeclaration>(declaration: R): R => declaration;

/**
 * Every route the gateway serves, keyed by `operationId`, with this deployment's limits in the body schema and
 * the descriptions. Routes on `/locks` need both credentials; the others are probes, metrics and documentation.
 */
export function httpRoutes(limits: HttpLimits) {
  const lockErrors = authenticatedErrors(limits);
  const webhookErrors = webhooksErrors(limits);
  return {
    startBulkAddKeys: route({
      operationId: 'startBulkAddKeys',
      method: 'post',
      path: '/locks/{lockId}/BulkAddKeys',
      tag: 'Runs',
      summary: 'Add keys to a lock',
      description:
        'Starts one durable run that sends the keys to the lock one after another, at least the configured gap ' +
        "apart, retrying each until it sticks or fails for good. Answers at once with the run's `instanceId`.",
      authenticated: true,
      request: {
        params: lockParams,
        headers: z.object({ 'Idempotency-Key': idempotencyKeySchema.optional() }),
        body: {
          schema: bulkAddKeysBodySchema(limits).meta({ id: 'BulkAddKeysBody' }),
          description: `At most ${limits.maxBodyBytes} bytes of UTF-8 JSON.`,
          example: {
            keys: [{ keyUuid: '6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70', keyIndexNumber: 42, userId: 'user-7' }],
          },
        },
      },
      responses: {
        202: json(
          'The run was started, or (same Idempotency-Key, same body) the earlier run is returned.',
          bulkAddKeysAcceptedSchema,
          {
            ...RATE_LIMIT_HEADERS,
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
        ),
        ...lockErrors,
        400: error(
          'Malformed JSON, a body that breaks the schema (each problem in `details`), a bad `lockId` or a bad ' +
            'Idempotency-Key.',
          RATE_LIMIT_HEADERS,
        ),
        409: error('The Idempotency-Key was used before with a different body.', RATE_LIMIT_HEADERS),
        413: error(`The body is over ${limits.maxBodyBytes} bytes.`, RATE_LIMIT_HEADERS),
        415: error('The body is not `application/json` in UTF-8, or is compressed.', RATE_LIMIT_HEADERS),
        429: error(
          `Over the per-API-key rate limit (${limits.rateLimitPerMinute} requests per minute), or the lock already ` +
            `has ${limits.maxActiveRunsPerLock} runs queued, running or paused (nothing was started).`,
          { ...RATE_LIMIT_HEADERS, 'Retry-After': RETRY_AFTER },
        ),
      },
    }),

    listBulkAddKeysRuns: route({
      operationId: 'listBulkAddKeysRuns',
      method: 'get',
      path: '/locks/{lockId}/BulkAddKeys',
      tag: 'Runs',
      summary: "List a lock's runs",
      description:
        "The caller's organization's runs on this lock, newest first (open runs first), from Temporal's visibility. " +
        'Another organization’s runs never appear.',
      authenticated: true,
      request: { params: lockParams, query: runListQuerySchema },
      responses: {
        200: json('One page of runs.', runListSchema, RATE_LIMIT_HEADERS),
        ...lockErrors,
        400: error(
          'A bad `lockId`, or a query that is not `status`, `limit` (1–100) and `cursor` (as it came from ' +
            '`nextCursor`, for the same lock, organization and status); each problem in `details`.',
          RATE_LIMIT_HEADERS,
        ),
      },
    }),

    getBulkAddKeysRun: route({
      operationId: 'getBulkAddKeysRun',
      method: 'get',
      path: '/locks/{lockId}/BulkAddKeys/{instanceId}',
      tag: 'Runs',
      summary: 'Read a run',
      description:
        'Where the run stands and the outcome of each key so far; readable while the run goes on, and true ' +
        "whether or not a worker is up (then it is rebuilt from the run's history).",
      authenticated: true,
      request: { params: runParams },
      responses: { 200: statusBody('The run.'), ...lockErrors, 404: runNotFound },
    }),

    cancelBulkAddKeysRun: route({
      operationId: 'cancelBulkAddKeysRun',
      method: 'post',
      path: '/locks/{lockId}/BulkAddKeys/{instanceId}/cancel',
      tag: 'Runs',
      summary: 'Cancel a run',
      description:
        'Keys not yet sent end `cancelled`; a command already sent to the lock finishes first. Works on a paused ' +
        'run. Takes no body (any body is ignored).',
      authenticated: true,
      request: { params: runParams },
      responses: {
        202: statusBody('Cancellation was requested; the run as it stands.'),
        ...lockErrors,
        404: runNotFound,
        409: runClosed('cancel'),
      },
    }),

    pauseBulkAddKeysRun: route({
      operationId: 'pauseBulkAddKeysRun',
      method: 'post',
      path: '/locks/{lockId}/BulkAddKeys/{instanceId}/pause',
      tag: 'Runs',
      summary: 'Pause a run',
      description:
        'The command already at the lock finishes, nothing more is sent, the lock goes to the next run waiting ' +
        'for it, and the run reports `paused` until resumed. Pausing a paused run changes nothing. Takes no body.',
      authenticated: true,
      request: { params: runParams },
      responses: {
        202: statusBody('The pause was requested; the run as it stands.'),
        ...lockErrors,
        404: runNotFound,
        409: runClosed('pause'),
      },
    }),

    resumeBulkAddKeysRun: route({
      operationId: 'resumeBulkAddKeysRun',
      method: 'post',
      path: '/locks/{lockId}/BulkAddKeys/{instanceId}/resume',
      tag: 'Runs',
      summary: 'Resume a paused run',
      description:
        'The run queues for its lock again and goes on with its next pending key. Resuming a run that is not ' +
        'paused changes nothing. Takes no body.',
      authenticated: true,
      request: { params: runParams },
      responses: {
        202: statusBody('The resume was requested; the run as it stands.'),
        ...lockErrors,
        404: runNotFound,
        409: runClosed('resume'),
      },
    }),

    listWebhooks: route({
      operationId: 'listWebhooks',
      method: 'get',
      path: '/webhooks',
      tag: 'Webhooks',
      summary: "The organization's webhook endpoints",
      description:
        'Each endpoint of the caller’s organization (`WEBHOOKS_FILE`) and how its deliveries stand: healthy or failing ' +
        'since when, events waiting, the last error. Events wait per endpoint, in order, and keep their `webhook-id`.',
      authenticated: true,
      request: {},
      responses: {
        200: json('The endpoints (none: the organization has no webhook).', webhookListSchema, RATE_LIMIT_HEADERS),
        ...webhookErrors,
      },
    }),

    healthz: route({
      operationId: 'healthz',
      method: 'get',
      path: '/healthz',
      tag: 'Operations',
      summary: 'Liveness',
      description: 'The process is up. Checks nothing else.',
      authenticated: false,
      request: {},
      responses: { 200: json('Alive.', operationsOk) },
    }),

    readyz: route({
      operationId: 'readyz',
      method: 'get',
      path: '/readyz',
      tag: 'Operations',
      summary: 'Readiness',
      description: 'Temporal answers: requests can be served.',
      authenticated: false,
      request: {},
      responses: {
        200: json('Ready.', operationsOk),
        503: error('Temporal is not reachable.', { 'Retry-After': RETRY_AFTER }),
      },
    }),

    metrics: route({
      operationId: 'metrics',
      method: 'get',
      path: '/metrics',
      tag: 'Operations',
      summary: 'Prometheus metrics',
      description:
        'Prometheus text format: HTTP requests by route pattern, method and status; workflows started; ' +
        'authentication failures by reason; rate-limited requests; Node.js process metrics. No credentials: ' +
        'keep it off the public edge.',
      authenticated: false,
      request: {},
      responses: { 200: raw('The metrics.', 'text/plain'), 500: error('The metrics could not be collected.') },
    }),

    openapi: route({
      operationId: 'openapi',
      method: 'get',
      path: '/openapi.json',
      tag: 'Operations',
      summary: 'This document',
      authenticated: false,
      request: {},
      responses: { 200: raw('OpenAPI 3.1.', 'application/json') },
    }),

    docs: route({
      operationId: 'docs',
      method: 'get',
      path: '/docs',
      tag: 'Operations',
      summary: 'API reference page',
      description: 'Swagger UI on this document, served entirely by the gateway.',
      authenticated: false,
      request: {},
      responses: { 200: raw('The page.', 'text/html') },
    }),

    docsAsset: route({
      operationId: 'docsAsset',
      method: 'get',
      path: '/docs/{asset}',
      tag: 'Operations',
      summary: 'Files of the API reference page',
      authenticated: false,
      request: { params: z.object({ asset: z.string().meta({ description: 'A file of the page.' }) }) },
      responses: {
        200: raw('The file.', 'text/css', 'text/javascript', 'image/png'),
        404: error('No such file.'),
      },
    }),
  } as const;
}

/** The declarations, by `operationId`. */
export type HttpRoutes = ReturnType<typeof httpRoutes>;
export type OperationId = keyof HttpRoutes;

type Output<T> = T extends z.ZodType ? z.output<T> : Record<string, never>;
type RequestOf<R extends RouteDeclaration> = R['request'];

/** What a handler of route `R` receives, parsed and validated by the declaration's schemas. */
export interface ParsedRequest<R extends RouteDeclaration> {
  params: Output<RequestOf<R>['params']>;
  query: Output<RequestOf<R>['query']>;
  headers: Output<RequestOf<R>['headers']>;
  body: RequestOf<R>['body'] extends { schema: infer S } ? Output<S> : undefined;
}

type SuccessStatus = 200 | 201 | 202 | 204;
type JsonSuccess<R extends RouteDeclaration> = {
  [S in Extract<keyof R['responses'], SuccessStatus>]: R['responses'][S] extends JsonResponse<infer B>
    ? { status: S; body: z.input<B>; headers?: Record<string, string> }
    : never;
}[Extract<keyof R['responses'], SuccessStatus>];
/** What a handler of JSON route `R` returns: one of its declared success answers. */
export type RouteResult<R extends RouteDeclaration> = JsonSuccess<R>;

/** `/locks/{lockId}/BulkAddKeys` → `/locks/:lockId/BulkAddKeys` (Express syntax). */
export const toExpressPath = (openApiPath: string) => openApiPath.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');

/** The methods each path serves, for `405` with `Allow` (GET implies HEAD). */
export function methodsByPath(routes: Record<string, RouteDeclaration>): Map<string, string[]> {
  const byPath = new Map<string, string[]>();
  for (const declaration of Object.values(routes)) {
    const methods = byPath.get(declaration.path) ?? [];
    methods.push(declaration.method.toUpperCase());
    if (declaration.method === 'get') methods.push('HEAD');
    byPath.set(declaration.path, methods.sort());
  }
  return byPath;
}
