import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  type BulkAddKeysAccepted,
  type BulkAddKeysInput,
  bulkAddKeysBodySchema,
  idempotencyKeySchema,
  instanceIdSchema,
  issuesToDetails,
  lockIdSchema,
} from '@lockkeys/contracts';
import express, { type Express, type RequestHandler, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { type Authenticator, createAuthenticator, type Principal } from './auth';
import type { GatewayConfig } from './config';
import { docsAsset, docsContentSecurityPolicy, docsPage } from './docs';
import {
  BadRequestError,
  errorHandler,
  NotFoundError,
  notFound,
  PayloadTooLargeError,
  RUN_NOT_FOUND_MESSAGE,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from './errors';
import { createGatewayMetrics, type GatewayMetrics, requestMetrics } from './metrics';
import { createOpenApiDocument } from './openapi';
import { createRouteResolver } from './routes';
import type { RunRef, RunService } from './runs';

/** What {@link createApp} needs; tests pass a fake `runs`. */
export interface AppDependencies {
  config: GatewayConfig;
  /** Starts, reads and cancels runs (Temporal in production). */
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
  lockId?: number;
  instanceId?: string;
  idempotencyKey?: string;
}

// Echo a caller's request id only when it is short and harmless in headers and logs.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// Enough to fix a request; a body with thousands of bad keys must not produce a multi-megabyte answer.
const MAX_DETAILS = 100;
const RATE_LIMIT_WINDOW_MS = 60_000;

const locals = (res: Response) => res.locals as GatewayLocals;

/**
 * Builds the gateway's express app (it does not listen): health probes, `/metrics`, `/openapi.json`, `/docs`,
 * `POST /locks/{lockId}/BulkAddKeys`, `GET .../BulkAddKeys/{instanceId}`, `POST .../BulkAddKeys/{instanceId}/cancel`,
 * and one error middleware that turns every failure into SPEC's error body. Checks run in this order on `/locks`:
 * credentials (401), per-API-key rate limit (429), `lockId` (400), authorization (403), then the route's own input.
 * Every route sits on the app with its full path, so `servedRoutes` (metrics labels, the OpenAPI test) sees it.
 */
export function createApp({ config, runs, logger, metrics = createGatewayMetrics() }: AppDependencies): Express {
  const authenticator = createAuthenticator(config);
  const bodySchema = bulkAddKeysBodySchema({
    maxKeysPerRequest: config.limits.maxKeysPerRequest,
    maxKeyIndex: config.limits.maxKeyIndex,
  });
  // Built once at start-up: a schema that cannot be documented fails here, not on the first request.
  const openApiJson = JSON.stringify(createOpenApiDocument(config.limits));

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(requestMetrics(metrics, createRouteResolver(app)));
  app.use(requestContext(logger));
  app.use(helmet());

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const ready = await runs.ready().catch(() => false);
    if (!ready) throw new ServiceUnavailableError('The workflow service is not reachable');
    res.json({ status: 'ok' });
  });

  // No credentials (SPEC Operations). Scrapes are counted like any route: one label set, so no cardinality growth.
  app.get('/metrics', async (_req, res) => {
    const text = await metrics.registry.metrics();
    res.type(metrics.registry.contentType).send(text);
  });

  app.get('/openapi.json', (_req, res) => {
    res.type('json').send(openApiJson);
  });

  app.get('/docs', docsContentSecurityPolicy, docsPage);
  app.get('/docs/:asset', docsContentSecurityPolicy, docsAsset);

  // Everything under /locks needs credentials, checked before the path or body is even looked at; the rate
  // limit comes right after, keyed by API key, so anonymous floods never spend a customer's budget.
  app.use(
    '/locks',
    authenticate(authenticator, metrics),
    perApiKeyRateLimit(config.limits.rateLimitPerMinute, logger, metrics),
  );
  const lockAccess = [parseLockId, authorizeLock(authenticator)];

  app.post(
    '/locks/:lockId/BulkAddKeys',
    ...lockAccess,
    requireJsonContentType,
    rejectDeclaredOversizeBody(config.limits.maxBodyBytes),
    parseIdempotencyKey,
    // Content type was checked above, so parse whatever came; inflate off keeps MAX_BODY_BYTES a true bound,
    // and strict off lets zod say "body must be a JSON object" instead of "not JSON" for `"text"` or `null`.
    express.json({
      limit: config.limits.maxBodyBytes,
      strict: false,
      type: () => true,
      inflate: false,
      verify: rejectInvalidUtf8,
    }),
    async (req, res) => {
      const { principal, lockId, idempotencyKey } = locals(res);
      if (principal === undefined || lockId === undefined) throw new Error('route wiring: principal or lockId missing');
      if (req.body === undefined) throw new BadRequestError('Request body is required');
      const body = bodySchema.safeParse(req.body);
      if (!body.success) {
        throw new BadRequestError('Request body is invalid', issuesToDetails(body.error.issues).slice(0, MAX_DETAILS));
      }

      const input: BulkAddKeysInput = {
        lockId,
        orgId: principal.orgId,
        requestedBy: principal.subject,
        keys: body.data.keys,
      };
      const { instanceId, replayed } = await runs.start({
        input,
        ...(idempotencyKey !== undefined && { idempotencyKey }),
      });

      metrics.workflowsStarted.inc({ replayed: String(replayed) });
      // From here on (this line and the access log) the request's lines carry the run's instanceId too.
      const log = (locals(res).log = locals(res).log.child({ instanceId }));
      log.info(
        { orgId: principal.orgId, apiKeyId: principal.apiKeyId, keyCount: input.keys.length, replayed },
        replayed ? 'bulkAddKeys replayed' : 'bulkAddKeys started',
      );
      const accepted: BulkAddKeysAccepted = { success: true, lockId, instanceId };
      if (replayed) res.setHeader('Idempotent-Replayed', 'true');
      res
        .status(202)
        .setHeader('Location', `/locks/${lockId}/BulkAddKeys/${encodeURIComponent(instanceId)}`)
        .json(accepted);
    },
  );

  app.get('/locks/:lockId/BulkAddKeys/:instanceId', ...lockAccess, parseInstanceId, async (_req, res) => {
    res.json(await runs.status(runRef(res)));
  });

  // Cancel takes no body: whatever came (any type, any size) is never read, so it cannot matter.
  app.post('/locks/:lockId/BulkAddKeys/:instanceId/cancel', ...lockAccess, parseInstanceId, async (_req, res) => {
    const ref = runRef(res);
    const status = await runs.cancel(ref);
    // lockId and instanceId are on the request's logger already.
    locals(res).log.info(
      { orgId: ref.orgId, apiKeyId: locals(res).principal?.apiKeyId },
      'bulkAddKeys cancel requested',
    );
    res.status(202).json(status);
  });

  app.use(notFound);
  app.use(errorHandler({ logger, maxBodyBytes: config.limits.maxBodyBytes }));
  return app;
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
    keyGenerator: (_req, res) => {
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

const parseLockId: RequestHandler = (req, res, next) => {
  const lockId = lockIdSchema.safeParse(req.params.lockId);
  if (!lockId.success) {
    throw new BadRequestError(
      'lockId is invalid',
      lockId.error.issues.map((issue) => ({ path: 'lockId', message: issue.message })),
    );
  }
  const requestLocals = locals(res);
  requestLocals.lockId = lockId.data;
  requestLocals.log = requestLocals.log.child({ lockId: lockId.data });
  next();
};

function authorizeLock(authenticator: Authenticator): RequestHandler {
  return (_req, res, next) => {
    const { principal, lockId } = locals(res);
    if (principal === undefined || lockId === undefined) throw new Error('route wiring: principal or lockId missing');
    authenticator.authorize(principal, lockId);
    next();
  };
}

// A malformed instanceId answers exactly like an unknown or foreign one: its shape reveals nothing.
const parseInstanceId: RequestHandler = (req, res, next) => {
  const instanceId = instanceIdSchema.safeParse(req.params.instanceId);
  if (!instanceId.success) throw new NotFoundError(RUN_NOT_FOUND_MESSAGE);
  const requestLocals = locals(res);
  requestLocals.instanceId = instanceId.data;
  requestLocals.log = requestLocals.log.child({ instanceId: instanceId.data });
  next();
};

/** The run the caller asks about, with the caller's organization: RunService answers 404 for anyone else's. */
function runRef(res: Response): RunRef {
  const { principal, lockId, instanceId } = locals(res);
  if (principal === undefined || lockId === undefined || instanceId === undefined) {
    throw new Error('route wiring: principal, lockId or instanceId missing');
  }
  return { instanceId, lockId, orgId: principal.orgId };
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

const parseIdempotencyKey: RequestHandler = (req, res, next) => {
  const header = req.get('idempotency-key');
  if (header === undefined) return next();
  const idempotencyKey = idempotencyKeySchema.safeParse(header);
  if (!idempotencyKey.success) {
    throw new BadRequestError('Idempotency-Key is invalid', [
      { path: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters' },
    ]);
  }
  locals(res).idempotencyKey = idempotencyKey.data;
  next();
};

/** body-parser would turn invalid UTF-8 into U+FFFD and let it through as a valid-looking keyUuid. */
function rejectInvalidUtf8(_req: IncomingMessage, _res: unknown, body: Buffer): void {
  if (!isUtf8(body)) throw new BadRequestError('Request body is not valid UTF-8');
}
