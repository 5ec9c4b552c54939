import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  httpRoutes,
  issuesToDetails,
  methodsByPath,
  toExpressPath,
  type HttpRoutes,
  type OperationId,
  type ParsedRequest,
  type RouteDeclaration,
  type RouteResult,
} from '@lockkeys/contracts';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { type Authenticator, createAuthenticator, type Principal } from './auth';
import type { GatewayConfig } from './config';
import { docsAsset, docsContentSecurityPolicy, docsPage } from './docs';
import {
  BadRequestError,
  errorHandler,
  MethodNotAllowedError,
  NotFoundError,
  notFound,
  PayloadTooLargeError,
  RUN_NOT_FOUND_MESSAGE,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from './errors';
import { createGatewayMetrics, type GatewayMetrics, requestMetrics, watchWebhookEndpoints } from './metrics';
import { createOpenApiDocument } from './openapi';
import { createRouteResolver } from './route-labels';
import type { RunRef, RunService } from './runs';

/** What {@link createApp} needs; tests pass a fake `runs`. */
export interface AppDependencies {
  config: GatewayConfig;
  /** Starts, lists, reads, cancels, pauses and resumes runs (Temporal in production). */
  runs: RunService;
  logger: Logger;
  /** Where `/metrics` reads from; a fresh registry per app unless given. */
  metrics?: GatewayMetrics;
}

/** Per-request state the middlewares hand on to each other. */
interface GatewayLocals {
  requestId: string;
  /** The request's logger; carries `lockId` and `instanceId` once they are parsed. */
  log: Logger;
  principal?: Principal;
  /** Path parameters, query, headers and body as the route's declaration parsed them. */
  parsed?: ParsedInput;
  /** A path parameter other than `lockId` is malformed (answered after authorization). */
  paramsInvalid?: boolean;
}

/** A request as its route's schemas parsed it; each handler sees it typed by its own declaration. */
interface ParsedInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  headers: Record<string, unknown>;
  body: unknown;
}

/** What a JSON handler gets besides its parsed request. */
interface HandlerContext {
  /** Who calls (routes on `/locks` only). */
  principal: Principal;
  /** The request's logger, with `lockId` and `instanceId` when the route has them. */
  log: Logger;
  /** Adds fields to this request's log lines from here on (the access log included); returns that logger. */
  annotate(fields: Record<string, unknown>): Logger;
}

/** How the app calls any JSON handler once its input is parsed (each is typed by its own declaration above it). */
type AnyJsonHandler = (
  request: ParsedInput,
  context: HandlerContext,
) => Promise<{ status: number; body: unknown; headers?: Record<string, string> }>;

/** A route whose answers are JSON: it returns one of its declared success answers, or throws. */
type JsonHandler<R extends RouteDeclaration> = (
  request: ParsedRequest<R>,
  context: HandlerContext,
) => Promise<RouteResult<R>>;
type ServesRaw<R extends RouteDeclaration> =
  Extract<R['responses'][keyof R['responses']], { kind: 'raw' }> extends never ? false : true;
/** One handler per declared route: typed from its declaration for JSON routes, plain Express for the others. */
type RouteHandlers = {
  [K in OperationId]: ServesRaw<HttpRoutes[K]> extends true ? RequestHandler : JsonHandler<HttpRoutes[K]>;
};

// Echo a caller's request id only when it is short and harmless in headers and logs.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// Enough to fix a request; a body with thousands of bad keys must not produce a multi-megabyte answer.
const MAX_DETAILS = 100;
const RATE_LIMIT_WINDOW_MS = 60_000;
const DEFAULT_LIST_LIMIT = 20;

const locals = (res: Response) => res.locals as GatewayLocals;

/**
 * Builds the gateway's express app (it does not listen) from the routes declared in `@lockkeys/contracts`: each
 * declaration gives its Express route, its parsing (params, query, headers, body by their zod schemas) and its part
 * of `/openapi.json`; the handlers below only call the RunService and say which answer it is. On `/locks`, checks
 * run in this order: method (405), credentials (401), per-API-key rate limit (429), `lockId` (400), authorization
 * (403), then the route's own input. One error middleware turns every failure into SPEC's error body.
 */
export function createApp({ config, runs, logger, metrics = createGatewayMetrics() }: AppDependencies): Express {
  const authenticator = createAuthenticator(config);
  watchWebhookEndpoints(metrics, [...config.webhooks.keys()], runs);
  const routes = httpRoutes(config.limits);
  // Built once at start-up: a schema that cannot be documented fails here, not on the first request.
  const openApiJson = JSON.stringify(createOpenApiDocument(routes, config.limits));

  const runRef = (params: { lockId: number; instanceId: string }, context: HandlerContext): RunRef => ({
    instanceId: params.instanceId,
    lockId: params.lockId,
    orgId: context.principal.orgId,
  });
  const handlers: RouteHandlers = {
    async startBulkAddKeys({ params, headers, body }, { principal, annotate }) {
      const idempotencyKey = headers['Idempotency-Key'];
      const input = { lockId: params.lockId, orgId: principal.orgId, requestedBy: principal.subject, keys: body.keys };
      const { instanceId, replayed } = await runs.start({
        input,
        ...(idempotencyKey !== undefined && { idempotencyKey }),
      });
      metrics.workflowsStarted.inc({ replayed: String(replayed) });
      // From here on (this line and the access log) the request's lines carry the run's instanceId too.
      annotate({ instanceId }).info(
        { orgId: principal.orgId, apiKeyId: principal.apiKeyId, keyCount: input.keys.length, replayed },
        replayed ? 'bulkAddKeys replayed' : 'bulkAddKeys started',
      );
      return {
        status: 202,
        headers: {
          Location: `/locks/${params.lockId}/BulkAddKeys/${encodeURIComponent(instanceId)}`,
          ...(replayed && { 'Idempotent-Replayed': 'true' }),
        },
        body: { success: true, lockId: params.lockId, instanceId },
      };
    },
    async listBulkAddKeysRuns({ params, query }, { principal }) {
      const { status, cursor } = query;
      const list = await runs.list({
        lockId: params.lockId,
        orgId: principal.orgId,
        limit: query.limit ?? DEFAULT_LIST_LIMIT,
        ...(status !== undefined && { status }),
        ...(cursor !== undefined && { cursor }),
      });
      return { status: 200, body: list };
    },
    async getBulkAddKeysRun({ params }, context) {
      return { status: 200, body: await runs.status(runRef(params, context)) };
    },
    async cancelBulkAddKeysRun({ params }, context) {
      context.log.info({ apiKeyId: context.principal.apiKeyId }, 'bulkAddKeys cancel requested');
      return { status: 202, body: await runs.cancel(runRef(params, context)) };
    },
    async pauseBulkAddKeysRun({ params }, context) {
      context.log.info({ apiKeyId: context.principal.apiKeyId }, 'bulkAddKeys pause requested');
      return { status: 202, body: await runs.pause(runRef(params, context)) };
    },
    async resumeBulkAddKeysRun({ params }, context) {
      context.log.info({ apiKeyId: context.principal.apiKeyId }, 'bulkAddKeys resume requested');
      return { status: 202, body: await runs.resume(runRef(params, context)) };
    },
    async listWebhooks(_request, { principal }) {
      return { status: 200, body: { webhooks: await runs.webhooks(principal.orgId) } };
    },
    async healthz() {
      return { status: 200, body: { status: 'ok' } };
    },
    async readyz() {
      const ready = await runs.ready().catch(() => false);
      if (!ready) throw new ServiceUnavailableError('The workflow service is not reachable');
      return { status: 200, body: { status: 'ok' } };
    },
    // No credentials (SPEC Operations). Scrapes are counted like any route: one label set, so no cardinality growth.
    metrics: async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
    openapi: (_req, res) => {
      res.type('json').send(openApiJson);
    },
    docs: (req, res, next) => docsContentSecurityPolicy(req, res, () => docsPage(req, res, next)),
    docsAsset: (req, res, next) => docsContentSecurityPolicy(req, res, () => docsAsset(req, res, next)),
  };

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(requestMetrics(metrics, createRouteResolver(routes)));
  app.use(requestContext(logger));
  app.use(helmet());

  // A known path asked with a method it does not serve is 405 with Allow, before anything else is looked at.
  for (const [path, allowed] of methodsByPath(routes)) {
    app.all(toExpressPath(path), (req, _res, next) => {
      if (!allowed.includes(req.method)) throw new MethodNotAllowedError(req.method, allowed);
      next();
    });
  }
  // Everything under /locks and /webhooks needs credentials, checked before the path or body is even looked at; the
  // rate limit comes right after, keyed by API key, so anonymous floods never spend a customer's budget.
  app.use(
    ['/locks', '/webhooks'],
    authenticate(authenticator, metrics),
    perApiKeyRateLimit(config.limits.rateLimitPerMinute, logger, metrics),
  );

  for (const operationId of Object.keys(routes) as OperationId[]) {
    const declaration: RouteDeclaration = routes[operationId];
    // Each handler was type-checked against its own declaration in `handlers`; here they are all alike.
    const handler: unknown = handlers[operationId];
    const serve = servesRaw(declaration) ? (handler as RequestHandler) : answerJson(handler as AnyJsonHandler);
    app[declaration.method](
      toExpressPath(declaration.path),
      ...inputParsers(declaration, authenticator, config),
      serve,
    );
  }

  app.use(notFound);
  app.use(errorHandler({ logger, maxBodyBytes: config.limits.maxBodyBytes }));
  return app;
}

function servesRaw(declaration: RouteDeclaration): boolean {
  return Object.values(declaration.responses).some((response) => response.kind === 'raw');
}

/** The middlewares a declaration asks for, in SPEC's check order. */
function inputParsers(
  declaration: RouteDeclaration,
  authenticator: Authenticator,
  config: GatewayConfig,
): RequestHandler[] {
  const { params, query, headers, body } = declaration.request;
  const parsers: RequestHandler[] = [startParsing];
  if (params !== undefined) parsers.push(parseParams(params));
  if (declaration.authenticated) parsers.push(authorize(authenticator, params?.shape.lockId !== undefined));
  if (params !== undefined) parsers.push(rejectInvalidParams);
  if (body !== undefined) {
    parsers.push(requireJsonContentType, rejectDeclaredOversizeBody(config.limits.maxBodyBytes));
  }
  if (headers !== undefined) parsers.push(parseHeaders(headers));
  if (query !== undefined) parsers.push(parseQuery(query));
  if (body !== undefined) {
    // Content type was checked above, so parse whatever came; inflate off keeps MAX_BODY_BYTES a true bound,
    // and strict off lets zod say "body must be a JSON object" instead of "not JSON" for `"text"` or `null`.
    parsers.push(
      express.json({
        limit: config.limits.maxBodyBytes,
        strict: false,
        type: () => true,
        inflate: false,
        verify: rejectInvalidUtf8,
      }),
      parseBody(body.schema),
    );
  }
  return parsers;
}

const emptyParsed = (): ParsedInput => ({ params: {}, query: {}, headers: {}, body: undefined });

const startParsing: RequestHandler = (_req, res, next) => {
  locals(res).parsed = emptyParsed();
  next();
};

const parsedOf = (res: Response) => locals(res).parsed ?? emptyParsed();

/**
 * Path parameters, in SPEC's order around authorization: a bad `lockId` is 400 here, before authorization; any
 * other bad parameter waits until after it (see {@link rejectInvalidParams}). Parsed parameters go on the
 * request's logger.
 */
function parseParams(schema: z.ZodObject): RequestHandler {
  return (req, res, next) => {
    const parsed = schema.safeParse(req.params);
    const lockIdIssues = parsed.success ? [] : parsed.error.issues.filter((issue) => issue.path[0] === 'lockId');
    if (lockIdIssues.length > 0) {
      throw new BadRequestError(
        'lockId is invalid',
        lockIdIssues.map((issue) => ({ path: 'lockId', message: issue.message })),
      );
    }
    const requestLocals = locals(res);
    if (parsed.success) {
      parsedOf(res).params = parsed.data as Record<string, unknown>;
      const { lockId, instanceId } = parsed.data as { lockId?: number; instanceId?: string };
      requestLocals.log = requestLocals.log.child({
        ...(lockId !== undefined && { lockId }),
        ...(instanceId !== undefined && { instanceId }),
      });
    } else {
      const lockId = (schema.shape.lockId as z.ZodType | undefined)?.safeParse(req.params.lockId);
      if (lockId?.success) parsedOf(res).params = { lockId: lockId.data };
      requestLocals.paramsInvalid = true;
    }
    next();
  };
}

/** A malformed `instanceId` answers exactly like an unknown or foreign one (404): its shape reveals nothing. */
const rejectInvalidParams: RequestHandler = (_req, res, next) => {
  if (locals(res).paramsInvalid) throw new NotFoundError(RUN_NOT_FOUND_MESSAGE);
  next();
};

/** The principal may act: its token's organization is its key's, and (on a lock's route) the key may manage the lock. */
function authorize(authenticator: Authenticator, onLock: boolean): RequestHandler {
  return (_req, res, next) => {
    const { principal } = locals(res);
    const lockId = (parsedOf(res).params as { lockId?: number }).lockId;
    if (principal === undefined || (onLock && lockId === undefined)) {
      throw new Error('route wiring: principal or lockId missing');
    }
    authenticator.authorize(principal, onLock ? lockId : undefined);
    next();
  };
}

/** Declared request headers, each by its schema (`Idempotency-Key`). */
function parseHeaders(schema: z.ZodObject): RequestHandler {
  return (req, res, next) => {
    const values = Object.fromEntries(Object.keys(schema.shape).map((name) => [name, req.get(name)]));
    const parsed = schema.safeParse(values);
    if (!parsed.success) {
      const [first] = parsed.error.issues;
      const name = String(first?.path[0] ?? 'header');
      throw new BadRequestError(
        `${name} is invalid`,
        parsed.error.issues.map((issue) => ({ path: String(issue.path[0] ?? name), message: issue.message })),
      );
    }
    parsedOf(res).headers = parsed.data as Record<string, unknown>;
    next();
  };
}

/** A declared query is strict: anything it does not name is 400, each problem in `details`. */
function parseQuery(schema: z.ZodObject): RequestHandler {
  return (req, res, next) => {
    const parsed = schema.safeParse({ ...(req.query as Record<string, unknown>) });
    if (!parsed.success) {
      throw new BadRequestError('Query is invalid', issuesToDetails(parsed.error.issues).slice(0, MAX_DETAILS));
    }
    parsedOf(res).query = parsed.data as Record<string, unknown>;
    next();
  };
}

function parseBody(schema: z.ZodType): RequestHandler {
  return (req, res, next) => {
    if (req.body === undefined) throw new BadRequestError('Request body is required');
    const parsed = schema.safeParse(req.body);
    if (!parsed.success) {
      throw new BadRequestError('Request body is invalid', issuesToDetails(parsed.error.issues).slice(0, MAX_DETAILS));
    }
    parsedOf(res).body = parsed.data;
    next();
  };
}

/** Runs a JSON handler and sends the answer it chose, with its headers. */
function answerJson(handler: AnyJsonHandler): RequestHandler {
  return async (_req, res) => {
    const requestLocals = locals(res);
    const context: HandlerContext = {
      // Routes without credentials never read it.
      principal: requestLocals.principal as Principal,
      log: requestLocals.log,
      annotate: (fields) => (requestLocals.log = requestLocals.log.child(fields)),
    };
    const answer = (await handler(parsedOf(res), context)) as {
      status: number;
      body: unknown;
      headers?: Record<string, string>;
    };
    for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
    res.status(answer.status).json(answer.body);
  };
}

/** Request id, child logger, caching policy and one access-log line per request. */
function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const log = logger.child({ reqId: requestId });
    Object.assign(res.locals, { requestId, log } satisfies GatewayLocals);
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('Cache-Control', 'no-store');

    const startedAt = performance.now();
    res.on('finish', () => {
      const path = req.originalUrl.split('?', 1)[0]?.slice(0, 512);
      const durationMs = Math.round(performance.now() - startedAt);
      // The logger as the request left it: with lockId and instanceId when the route parsed them.
      const { log: requestLog, principal } = locals(res);
      const fields = { method: req.method, path, status: res.statusCode, durationMs, apiKeyId: principal?.apiKeyId };
      // A scraper polls /metrics every few seconds: its successful scrapes are counted there, not logged at info.
      if (path === '/metrics' && res.statusCode === 200) requestLog.debug(fields, 'request completed');
      else requestLog.info(fields, 'request completed');
    });
    next();
  };
}

function authenticate(authenticator: Authenticator, metrics: GatewayMetrics): RequestHandler {
  return (req, res, next) => {
    try {
      locals(res).principal = authenticator.authenticate(req.get('authorization'), req.headers['x-api-key']);
    } catch (err) {
      if (err instanceof UnauthorizedError) metrics.authFailures.inc({ reason: err.reasonCode });
      throw err;
    }
    next();
  };
}

/** express-rate-limit, one budget per API key id (in memory: per gateway process). */
function perApiKeyRateLimit(limitPerMinute: number, logger: Logger, metrics: GatewayMetrics): RequestHandler {
  return rateLimit({
    windowMs: RATE_LIMIT_WINDOW_MS,
    limit: limitPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (_req: Request, res: Response) => {
      const apiKeyId = locals(res).principal?.apiKeyId;
      if (apiKeyId === undefined) throw new Error('route wiring: rate limit before authentication');
      return apiKeyId;
    },
    // Retry-After is already set; the body comes from the one error middleware like every other error.
    handler: (_req, _res, next) => {
      metrics.rateLimited.inc();
      next(new TooManyRequestsError());
    },
    logger,
  });
}

const requireJsonContentType: RequestHandler = (req, _res, next) => {
  const [mediaType, ...parameters] = (req.get('content-type') ?? '')
    .split(';')
    .map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/json') throw new UnsupportedMediaTypeError();
  const charset = parameters
    .find((parameter) => parameter.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/^"(.*)"$/, '$1');
  // body-parser would decode UTF-16 too; SPEC's JSON is UTF-8 only.
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new UnsupportedMediaTypeError('Request body must be UTF-8 encoded JSON');
  }
  next();
};

/** 413 from the Content-Length header alone, before a byte of the body is read (chunked bodies are counted as they come). */
function rejectDeclaredOversizeBody(maxBodyBytes: number): RequestHandler {
  return (req, _res, next) => {
    const declared = Number(req.get('content-length'));
    if (Number.isFinite(declared) && declared > maxBodyBytes) throw new PayloadTooLargeError(maxBodyBytes);
    next();
  };
}

/** body-parser would turn invalid UTF-8 into U+FFFD and let it through as a valid-looking keyUuid. */
function rejectInvalidUtf8(_req: IncomingMessage, _res: unknown, body: Buffer): void {
  if (!isUtf8(body)) throw new BadRequestError('Request body is not valid UTF-8');
}
