import { createHash, timingSafeEqual } from 'node:crypto';
import {
  faultUpdateSchema,
  lockIdSchema,
  putKeyBodySchema,
  type LockJournalBody,
  type LockResetBody,
  type LockSlotsBody,
  type PutKeyAnswer,
  UNAUTHORIZED_BODY,
} from '@lockkeys/contracts';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { type Logger } from 'pino';
import { z } from 'zod';
import { type SimulatorConfig } from './config';
import { errorBody, HttpError } from './errors';
import { type FaultInjector } from './faults';
import { createSimulatedLocks } from './locks';
import { type LockStore } from './store';

/** What the simulator's express app is built from. */
export interface SimulatorAppDependencies {
  config: SimulatorConfig;
  store: LockStore;
  faults: FaultInjector;
  logger: Logger;
}

// A negative index is well-formed but out of range, so it reaches the lock and gets 422.
const keyIndexParam = z
  .string()
  .regex(/^-?(0|[1-9]\d{0,15})$/, 'keyIndexNumber must be a decimal integer')
  .transform(Number)
  .refine(Number.isSafeInteger, 'keyIndexNumber is too large');

const sinceQuery = z
  .string({ error: 'since must be an epoch time in ms' })
  .regex(/^\d{1,16}$/, 'since must be an epoch time in ms')
  .transform(Number)
  .optional();

type Issue = { path: string; message: string };

const issuesOf = (error: z.ZodError, prefix: string): Issue[] =>
  error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));

function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, prefix: string): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const details = issuesOf(parsed.error, prefix);
  throw new HttpError(400, details[0]?.message ?? 'Request is malformed', details);
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Builds the simulator's HTTP app (SPEC "Lock backend" plus operator endpoints); it does not listen. */
export function createSimulatorApp({ config, store, faults, logger }: SimulatorAppDependencies): Express {
  const locks = createSimulatedLocks({ store, faults, limits: config });
  // Hashing first gives equal-length buffers, so the comparison takes the same time for any token.
  const expectedToken = sha256(config.token);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  app.use((req, res, next) => {
    const match = /^Bearer (.+)$/i.exec(req.get('authorization') ?? '');
    if (match?.[1] && timingSafeEqual(sha256(match[1]), expectedToken)) {
      next();
      return;
    }
    res.status(401).set('WWW-Authenticate', 'Bearer').json(UNAUTHORIZED_BODY);
  });

  app.use(express.json({ limit: '64kb' }));

  app.put('/locks/:lockId/keys/:keyIndexNumber', async (req, res) => {
    const receivedAt = Date.now();
    const details: Issue[] = [];
    const lockId = lockIdSchema.safeParse(req.params.lockId);
    if (!lockId.success) details.push(...issuesOf(lockId.error, 'lockId'));
    const keyIndexNumber = keyIndexParam.safeParse(req.params.keyIndexNumber);
    if (!keyIndexNumber.success) details.push(...issuesOf(keyIndexNumber.error, 'keyIndexNumber'));
    const body = putKeyBodySchema.safeParse(req.body);
    if (!body.success) details.push(...issuesOf(body.error, 'body'));
    const idempotencyKey = req.get('idempotency-key');
    if (idempotencyKey === undefined) {
      details.push({ path: 'Idempotency-Key', message: 'Idempotency-Key header is required' });
    } else if (body.success && idempotencyKey !== body.data.keyUuid) {
      details.push({ path: 'Idempotency-Key', message: 'Idempotency-Key must equal keyUuid' });
    }
    if (!lockId.success || !keyIndexNumber.success || !body.success || details.length > 0) {
      throw new HttpError(400, details[0]?.message ?? 'Request is malformed', details);
    }

    const outcome = await locks.addKey({
      lockId: lockId.data,
      keyIndexNumber: keyIndexNumber.data,
      keyUuid: body.data.keyUuid,
      userId: body.data.userId,
      receivedAt,
    });
    logger.debug({ lockId: lockId.data, keyIndexNumber: keyIndexNumber.data, ...outcome }, 'lock command');
    if (outcome.dropped) {
      // The command took effect; the caller just never hears about it.
      req.socket.destroy();
      return;
    }
    if ('key' in outcome) {
      res.status(outcome.status).json({ lockId: lockId.data, ...outcome.key } satisfies PutKeyAnswer);
      return;
    }
    if (outcome.retryAfterSeconds !== undefined) res.set('Retry-After', String(outcome.retryAfterSeconds));
    res.status(outcome.status).json(errorBody(outcome.status, outcome.message));
  });

  app.get('/locks/:lockId/keys', (req, res) => {
    const lockId = parseOrThrow(lockIdSchema, req.params.lockId, 'lockId');
    if (!locks.isKnown(lockId)) throw new HttpError(404, `Lock ${lockId} does not exist`);
    res.json({ lockId, keys: store.listKeys(lockId) } satisfies LockSlotsBody);
  });

  // Served for unknown locks too: their journal shows the 404 commands they received.
  app.get('/locks/:lockId/commands', (req, res) => {
    const lockId = parseOrThrow(lockIdSchema, req.params.lockId, 'lockId');
    const since = parseOrThrow(sinceQuery, req.query.since, 'since');
    res.json({ lockId, commands: store.listCommands(lockId, since) } satisfies LockJournalBody);
  });

  app.delete('/locks/:lockId', (req, res) => {
    const lockId = parseOrThrow(lockIdSchema, req.params.lockId, 'lockId');
    const removed = store.resetLock(lockId);
    res.json({ lockId, removedKeys: removed.keys, removedCommands: removed.commands } satisfies LockResetBody);
  });

  app.get('/faults', (_req, res) => {
    res.json(faults.view());
  });

  app.put('/faults', (req, res) => {
    const change = parseOrThrow(faultUpdateSchema, req.body, 'body');
    const view = faults.update(change);
    logger.info({ faults: view }, 'fault injection changed');
    res.json(view);
  });

  app.use((req, _res, next) => {
    next(new HttpError(404, `No route for ${req.method} ${req.path}`));
  });

  // Last: every error becomes a SPEC error body; nothing internal leaks.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof HttpError) {
      res.status(error.status).json(error.toBody());
      return;
    }
    const bodyParserType = (error as { type?: unknown } | null)?.type;
    if (bodyParserType === 'entity.parse.failed') {
      res.status(400).json(errorBody(400, 'Request body is not valid JSON'));
      return;
    }
    if (bodyParserType === 'entity.too.large') {
      res.status(413).json(errorBody(413, 'Request body is too large'));
      return;
    }
    const status = (error as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(status).json(errorBody(status, 'Request could not be read'));
      return;
    }
    logger.error({ err: error }, 'unexpected error');
    res.status(500).json(errorBody(500, 'The lock simulator failed to handle this request'));
  });

  return app;
}
