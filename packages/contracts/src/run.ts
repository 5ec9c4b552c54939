/**
 * The run resource of the HTTP API as zod schemas; every type here is inferred from its schema. The
 * request-side schemas (strict, with the configured limits) validate what clients send; the response-side
 * ones document what the gateway answers and check it in tests.
 */
import { z } from 'zod';

/** Limits of a `BulkAddKeys` request that the configuration may change. */
export interface BulkAddKeysLimits {
  maxKeysPerRequest: number;
  maxKeyIndex: number;
}

export const DEFAULT_LIMITS: BulkAddKeysLimits = { maxKeysPerRequest: 1000, maxKeyIndex: 65535 };

// No C0, DEL or C1 control character. A pattern rather than a refine, so the generated JSON Schema says it too.
// eslint-disable-next-line no-control-regex
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f-\u009f]*$/;

/** A key's text field (`keyUuid`, `userId`): 1–128 characters, no control characters; the messages name `what`. */
export const keyText = (what: string, description: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `${what} is required` : `${what} must be a string`) })
    .min(1, `${what} must not be empty`)
    .max(128, `${what} must be at most 128 characters`)
    .regex(NO_CONTROL_CHARACTERS, `${what} must not contain control characters`)
    .meta({ description });

/** Message of the root-level detail when the body is JSON but not an object (an array, a string, `null`). */
export const BODY_NOT_AN_OBJECT = 'body must be a JSON object';

/** In words what JSON Schema cannot say: the uniqueness rules of a request's keys. */
export const KEYS_UNIQUENESS_RULE =
  'No two keys of one request may share a keyUuid, and no two may share a keyIndexNumber; a request that breaks ' +
  'either rule is 400 with a detail at the second occurrence (e.g. `keys.3.keyIndexNumber`).';

/** Body of `POST /locks/{lockId}/BulkAddKeys`, with the configured limits. */
export function bulkAddKeysBodySchema(limits: BulkAddKeysLimits = DEFAULT_LIMITS) {
  const key = z.strictObject(
    {
      keyUuid: keyText('keyUuid', 'Identifier of the key; unique within the request.'),
      keyIndexNumber: z
        .number({
          error: (issue) =>
            issue.input === undefined ? 'keyIndexNumber is required' : 'keyIndexNumber must be a number',
        })
        .int('keyIndexNumber must be an integer')
        .min(0, 'keyIndexNumber must be at least 0')
        .max(limits.maxKeyIndex, `keyIndexNumber must be at most ${limits.maxKeyIndex}`)
        .meta({ description: 'Slot of the key on the lock; unique within the request.' }),
      userId: keyText('userId', 'User the key belongs to.'),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'each key must be an object' : undefined) },
  );
  return z
    .strictObject(
      {
        keys: z
          .array(key, { error: (issue) => (issue.input === undefined ? 'keys is required' : 'keys must be an array') })
          .min(1, 'keys must hold at least 1 key')
          .max(limits.maxKeysPerRequest, `keys must hold at most ${limits.maxKeysPerRequest} keys`)
          .meta({ description: `Keys to add, in this order. ${KEYS_UNIQUENESS_RULE}` }),
      },
      { error: (issue) => (issue.code === 'invalid_type' ? BODY_NOT_AN_OBJECT : undefined) },
    )
    .superRefine((body, ctx) => {
      const seenUuid = new Map<string, number>();
      const seenIndex = new Map<number, number>();
      body.keys.forEach((key, i) => {
        const uuidAt = seenUuid.get(key.keyUuid);
        if (uuidAt !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['keys', i, 'keyUuid'],
            message: `duplicate keyUuid (also keys.${uuidAt})`,
          });
        } else seenUuid.set(key.keyUuid, i);
        const indexAt = seenIndex.get(key.keyIndexNumber);
        if (indexAt !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['keys', i, 'keyIndexNumber'],
            message: `duplicate keyIndexNumber (also keys.${indexAt})`,
          });
        } else seenIndex.set(key.keyIndexNumber, i);
      });
    });
}
export type BulkAddKeysBody = z.infer<ReturnType<typeof bulkAddKeysBodySchema>>;

/** `lockId` path parameter: a positive decimal integer up to 2^53−1, nothing else (no `0x10`, `1e3`, `007`). */
export const lockIdSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,15}$/, 'lockId must be a positive decimal integer')
  .transform((value) => Number(value))
  .refine((value) => Number.isSafeInteger(value), 'lockId must be at most 9007199254740991')
  // The document says what the value is (a number, as every response carries it), not how the path spells it.
  .meta({
    description: 'The lock: a positive decimal integer, at most 9007199254740991 (2^53−1).',
    example: 123,
  });

/** `instanceId` path parameter (a workflow ID the gateway minted). */
export const instanceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,200}$/, 'instanceId is malformed')
  .meta({ description: 'The run, as returned by BulkAddKeys: its Temporal workflow ID.' });

/** `Idempotency-Key` header: 1–255 printable ASCII characters. */
export const idempotencyKeySchema = z
  .string()
  .regex(/^[\x20-\x7e]{1,255}$/, 'must be 1-255 printable ASCII characters')
  .meta({
    description:
      'Makes the request safe to retry: the same key, lock and body from the same organization return the first ' +
      "call's instanceId and start nothing; the same key with a different body is 409.",
  });

const count = z.number().int().min(0);

/** One key as the client sent it. */
export const keySpecSchema = z.object({
  keyUuid: z.string(),
  keyIndexNumber: z.number().int().min(0),
  userId: z.string(),
});
export type KeySpec = z.infer<typeof keySpecSchema>;

export const keyStatusSchema = z
  .enum(['pending', 'adding', 'added', 'failed', 'cancelled'])
  .meta({ id: 'KeyStatus', description: 'Where one key stands.' });
export type KeyStatus = z.infer<typeof keyStatusSchema>;

export const keyErrorSchema = z
  .object({
    type: z.string().meta({ description: 'Failure type, e.g. SlotOccupied, LockNotFound, KeyIndexOutOfRange.' }),
    message: z.string(),
  })
  .meta({ id: 'KeyError', description: 'Why a key failed for good.' });
export type KeyError = z.infer<typeof keyErrorSchema>;

/** Where one key stands; the workflow keeps one per key, in request order. */
export const keyProgressSchema = keySpecSchema
  .extend({
    status: keyStatusSchema,
    attempts: count.meta({ description: 'Commands sent to the lock for this key so far, retries included.' }),
    // A union, not .nullable(): zod-to-openapi would mark the shared KeyError component itself nullable.
    error: z.union([keyErrorSchema, z.null()]),
  })
  .meta({ id: 'KeyProgress', description: 'One key of a run and its outcome so far.' });
export type KeyProgress = z.infer<typeof keyProgressSchema>;

export const runSummarySchema = z
  .object({ total: count, added: count, failed: count, pending: count, cancelled: count })
  .meta({ id: 'RunSummary', description: 'Keys of the run by outcome; `pending` includes the key being added.' });
export type RunSummary = z.infer<typeof runSummarySchema>;

/** Status of a run as the HTTP API reports it. */
export const runStatusSchema = z
  .enum(['queued', 'running', 'paused', 'complete', 'errored', 'cancelled', 'terminated'])
  .meta({
    id: 'RunStatus',
    description:
      '`queued`: waiting for a worker or for its lock; `running`: sending commands; `paused`: paused by the client ' +
      '(holds no lock); then one of `complete`, `cancelled`, `errored` (a bug), `terminated` (by an operator).',
  });
export type RunStatus = z.infer<typeof runStatusSchema>;

/** Statuses after which a run changes no more. */
export const CLOSED_RUN_STATUSES: readonly RunStatus[] = ['complete', 'errored', 'cancelled', 'terminated'];

const runFields = {
  instanceId: z.string(),
  lockId: z.number().int().positive(),
  status: runStatusSchema,
  createdAt: z.string().meta({ description: 'When the request was accepted, ISO-8601.', format: 'date-time' }),
  closedAt: z.union([z.string(), z.null()]).meta({ description: 'ISO-8601, or null while the run is open.' }),
  summary: runSummarySchema,
};

/** Body of `GET .../BulkAddKeys/{instanceId}` and of cancel, pause and resume. */
export const runStatusBodySchema = z
  .object({ ...runFields, keys: z.array(keyProgressSchema) })
  .meta({ id: 'RunStatusBody', description: 'A run and the outcome of each of its keys, in request order.' });
export type RunStatusBody = z.infer<typeof runStatusBodySchema>;

/** One run in a listing: the status body without its keys. */
export const runListItemSchema = z.object(runFields).meta({ id: 'RunListItem' });
export type RunListItem = z.infer<typeof runListItemSchema>;

/** Body of `GET /locks/{lockId}/BulkAddKeys`. */
export const runListSchema = z
  .object({
    runs: z.array(runListItemSchema),
    nextCursor: z
      .union([z.string(), z.null()])
      .meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  })
  .meta({ id: 'RunList', description: "The caller's organization's runs on this lock, newest first." });
export type RunList = z.infer<typeof runListSchema>;

/** Most runs one page of a listing holds. */
export const MAX_LIST_LIMIT = 100;

/** Query of `GET /locks/{lockId}/BulkAddKeys`: anything else is 400. */
export const runListQuerySchema = z.strictObject({
  status: runStatusSchema.optional().meta({ description: 'Only runs with this status.' }),
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,2}$/, `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`)
    .transform(Number)
    .refine((value) => value <= MAX_LIST_LIMIT, `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`)
    .optional()
    .meta({ description: `Runs per page, 1 to ${MAX_LIST_LIMIT} (default 20).`, example: 20 }),
  cursor: z
    .string()
    .min(1, 'cursor must not be empty')
    .max(4096, 'cursor is malformed')
    .optional()
    .meta({ description: '`nextCursor` of the previous page, as it came.' }),
});
export type RunListQuery = z.infer<typeof runListQuerySchema>;

/** 202 body of `POST /locks/{lockId}/BulkAddKeys`. */
export const bulkAddKeysAcceptedSchema = z
  .object({
    success: z.literal(true),
    lockId: z.number().int().positive(),
    instanceId: z.string().meta({ description: 'The Temporal workflow ID of the run (URL-safe).' }),
  })
  .meta({ id: 'BulkAddKeysAccepted', description: 'The run was started (or, on an idempotent replay, found).' });
export type BulkAddKeysAccepted = z.infer<typeof bulkAddKeysAcceptedSchema>;

/** Body of a completion webhook (Standard Webhooks message). */
export const runClosedEventSchema = z
  .object({
    type: z.enum(['bulkAddKeys.complete', 'bulkAddKeys.cancelled', 'bulkAddKeys.errored']),
    timestamp: z.string().meta({ format: 'date-time' }),
    data: runStatusBodySchema,
  })
  .meta({ id: 'RunClosedEvent', description: 'POSTed to the organization’s webhook when one of its runs closes.' });
export type RunClosedEvent = z.infer<typeof runClosedEventSchema>;

/** One of the organization's webhook endpoints, as `GET /webhooks` shows it. */
export const webhookEndpointStatusSchema = z
  .object({
    url: z.string().meta({ description: 'The endpoint, without query or fragment (they may hold a token).' }),
    state: z.enum(['healthy', 'failing']).meta({
      description:
        '`failing` after three failed attempts in a row: the endpoint is then probed at a bounded interval, and its ' +
        'backlog flows, in order, as soon as it answers.',
    }),
    since: z
      .union([z.string().meta({ format: 'date-time' }), z.null()])
      .meta({ description: 'When the state began (the first failure of the streak); null before any event.' }),
    pending: z.number().int().min(0).meta({ description: 'Events waiting to be delivered, oldest first.' }),
    oldestPendingAt: z
      .union([z.string().meta({ format: 'date-time' }), z.null()])
      .meta({ description: 'When the oldest waiting event was announced; it is dropped WEBHOOK_RETRY_HOURS later.' }),
    lastError: z
      .union([z.string(), z.null()])
      .meta({ description: "The last failed attempt's reason (the receiver's host and answer)." }),
  })
  .meta({ id: 'WebhookEndpoint' });
export type WebhookEndpointStatus = z.infer<typeof webhookEndpointStatusSchema>;

/** Body of `GET /webhooks`. */
export const webhookListSchema = z
  .object({ webhooks: z.array(webhookEndpointStatusSchema) })
  .meta({ id: 'WebhookList', description: "The caller's organization's webhook endpoints (at most one)." });
export type WebhookList = z.infer<typeof webhookListSchema>;
