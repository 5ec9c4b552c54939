import { randomUUID } from 'node:crypto';
import {
  type BulkAddKeysAccepted,
  type BulkAddKeysInput,
  bulkAddKeysBodySchema,
  issuesToDetails,
  lockIdSchema,
} from '@lockkeys/contracts';
import express, { type Express, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { type Authenticator, createAuthenticator, type Principal } from './auth';
import type { GatewayConfig } from './config';
import { BadRequestError, errorHandler, notFound, ServiceUnavailableError, UnsupportedMediaTypeError } from './errors';
import { TemporalUnavailableError, type WorkflowStarter } from './temporal';

/** What {@link createApp} needs; tests pass a fake `workflowStarter`. */
export interface AppDependencies {
  config: GatewayConfig;
  workflowStarter: WorkflowStarter;
  logger: Logger;
}

/** Per-request state the middlewares hand on to each other. */
interface GatewayLocals {
  requestId: string;
  log: Logger;
  principal?: Principal;
  lockId?: number;
}

// Echo a caller's request id only when it is short and harmless in headers and logs.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// Enough to fix a request; a body with thousands of bad keys must not produce a multi-megabyte answer.
const MAX_DETAILS = 100;

const locals = (res: Response) => res.locals as GatewayLocals;

/**
 * Builds the gateway's express app (it does not listen): health probes, `POST /locks/{lockId}/BulkAddKeys`,
 * and one error middleware that turns every failure into SPEC's error body.
 */
export function createApp({ config, workflowStarter, logger }: AppDependencies): Express {
  const authenticator = createAuthenticator(config);
  const bodySchema = bulkAddKeysBodySchema({
    maxKeysPerRequest: config.limits.maxKeysPerRequest,
    maxKeyIndex: config.limits.maxKeyIndex,
  });

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(requestContext(logger));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const ready = await workflowStarter.ready().catch(() => false);
    if (!ready) throw new ServiceUnavailableError('The workflow service is not reachable');
    res.json({ status: 'ok' });
  });

  const locks = express.Router();
  // Everything under /locks needs credentials, checked before the path or body is even looked at.
  locks.use(authenticate(authenticator));
  locks.post(
    '/:lockId/BulkAddKeys',
    parseLockId,
    authorizeLock(authenticator),
    requireJsonContentType,
    // Content type was checked above, so parse whatever came; inflate off keeps MAX_BODY_BYTES a true bound.
    express.json({ limit: config.limits.maxBodyBytes, strict: true, type: () => true, inflate: false }),
    async (req, res) => {
      const { log, principal, lockId } = locals(res);
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
      let instanceId: string;
      try {
        instanceId = await workflowStarter.start(input);
      } catch (err) {
        if (err instanceof TemporalUnavailableError) {
          log.warn({ err, lockId }, 'workflow service unavailable; nothing started');
          throw new ServiceUnavailableError();
        }
        throw err;
      }

      log.info(
        { lockId, instanceId, orgId: principal.orgId, apiKeyId: principal.apiKeyId, keyCount: input.keys.length },
        'bulkAddKeys started',
      );
      const accepted: BulkAddKeysAccepted = { success: true, lockId, instanceId };
      res
        .status(202)
        .setHeader('Location', `/locks/${lockId}/BulkAddKeys/${encodeURIComponent(instanceId)}`)
        .json(accepted);
    },
  );
  app.use('/locks', locks);

  app.use(notFound);
  app.use(errorHandler({ logger, maxBodyBytes: config.limits.maxBodyBytes }));
  return app;
}

/** Request id, child logger, defensive headers and one access-log line per request. */
function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const log = logger.child({ reqId: requestId });
    Object.assign(res.locals, { requestId, log } satisfies GatewayLocals);
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');

    const startedAt = performance.now();
    res.on('finish', () => {
      const path = req.originalUrl.split('?', 1)[0]?.slice(0, 512);
      const durationMs = Math.round(performance.now() - startedAt);
      log.info({ method: req.method, path, status: res.statusCode, durationMs }, 'request completed');
    });
    next();
  };
}

function authenticate(authenticator: Authenticator): RequestHandler {
  return (req, res, next) => {
    locals(res).principal = authenticator.authenticate(req.get('authorization'), req.headers['x-api-key']);
    next();
  };
}

const parseLockId: RequestHandler = (req, res, next) => {
  const lockId = lockIdSchema.safeParse(req.params.lockId);
  if (!lockId.success) {
    throw new BadRequestError(
      'lockId is invalid',
      lockId.error.issues.map((issue) => ({ path: 'lockId', message: issue.message })),
    );
  }
  locals(res).lockId = lockId.data;
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

const requireJsonContentType: RequestHandler = (req, _res, next) => {
  const mediaType = req.get('content-type')?.split(';', 1)[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') throw new UnsupportedMediaTypeError();
  next();
};
