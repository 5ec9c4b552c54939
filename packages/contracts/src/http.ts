import { z } from 'zod';
import type { KeyError, KeyStatus, RunSummary } from './workflow';

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
          .meta({
            description:
              'Keys to add, in this order. No two keys may share a keyUuid, and no two a keyIndexNumber ' +
              '(checked by the gateway; JSON Schema cannot express it).',
          }),
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
  .meta({ description: 'The lock: a positive decimal integer, at most 9007199254740991.', example: '123' });

/** `instanceId` path parameter (a workflow ID the gateway minted). */
export const instanceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,200}$/, 'instanceId is malformed')
  .meta({ description: 'The run, as returned by BulkAddKeys: its Temporal workflow ID.' });

/** `Idempotency-Key` header: 1–255 printable ASCII characters. */
export const idempotencyKeySchema = z
  .string()
  .regex(/^[\x20-\x7e]{1,255}$/, 'Idempotency-Key must be 1-255 printable ASCII characters')
  .meta({
    description:
      'Makes the request safe to retry: the same key, lock and body from the same organization return the first ' +
      "call's instanceId and start nothing; the same key with a different body is 409.",
  });

/** Status of a run as the HTTP API reports it (SPEC `GET /locks/{lockId}/BulkAddKeys/{instanceId}`). */
export type RunStatus = 'queued' | 'running' | 'complete' | 'errored' | 'cancelled' | 'terminated';

/** Body of `GET .../BulkAddKeys/{instanceId}` and of `POST .../cancel`. */
export interface RunStatusBody {
  instanceId: string;
  lockId: number;
  status: RunStatus;
  createdAt: string;
  closedAt: string | null;
  summary: RunSummary;
  keys: {
    keyUuid: string;
    keyIndexNumber: number;
    userId: string;
    status: KeyStatus;
    attempts: number;
    error: KeyError | null;
  }[];
}

/** Memo field that records which organization started a run (GET and cancel compare it). */
export const MEMO_ORG_ID = 'orgId';
/** Memo field with the hash of the request that started a run (idempotent replays compare it). */
export const MEMO_REQUEST_HASH = 'requestHash';

/** 202 body of `POST /locks/{lockId}/BulkAddKeys`. */
export interface BulkAddKeysAccepted {
  success: true;
  lockId: number;
  instanceId: string;
}

/** One problem in a rejected request. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** SPEC's error body. */
export interface ErrorBody {
  error: string;
  message: string;
  code: number;
  details?: ErrorDetail[];
}

/** SPEC's exact body for every authentication failure. */
export const UNAUTHORIZED_BODY: ErrorBody = Object.freeze({
  error: 'Unauthorized',
  message: 'Authentication required. Please provide a valid API token',
  code: 401,
});

// ---- Response schemas: the interfaces above, as zod, for the OpenAPI document and response checks. ----
// The interfaces stay the source of their types; http.test.ts checks that each schema infers the same type.

const count = z.number().int().min(0);

/** {@link RunStatus} as a schema. */
export const runStatusSchema = z
  .enum(['queued', 'running', 'complete', 'errored', 'cancelled', 'terminated'])
  .meta({ id: 'RunStatus', description: 'Where the run stands.' });

/** {@link KeyStatus} as a schema. */
export const keyStatusSchema = z
  .enum(['pending', 'adding', 'added', 'failed', 'cancelled'])
  .meta({ id: 'KeyStatus', description: 'Where one key stands.' });

/** {@link KeyError} as a schema. */
export const keyErrorSchema = z
  .object({
    type: z.string().meta({ description: 'Failure type, e.g. SlotOccupied, LockNotFound, KeyIndexOutOfRange.' }),
    message: z.string(),
  })
  .meta({ id: 'KeyError', description: 'Why a key failed for good.' });

/** {@link RunSummary} as a schema. */
export const runSummarySchema = z
  .object({ total: count, added: count, failed: count, pending: count, cancelled: count })
  .meta({ id: 'RunSummary', description: 'Keys of the run by outcome; `pending` includes the key being added.' });

/** {@link RunStatusBody} as a schema. */
export const runStatusBodySchema = z
  .object({
    instanceId: z.string(),
    lockId: z.number().int().positive(),
    status: runStatusSchema,
    createdAt: z.string().meta({ description: 'ISO-8601.', format: 'date-time' }),
    closedAt: z.string().nullable().meta({ description: 'ISO-8601, or null while the run is open.' }),
    summary: runSummarySchema,
    keys: z.array(
      z.object({
        keyUuid: z.string(),
        keyIndexNumber: z.number().int().min(0),
        userId: z.string(),
        status: keyStatusSchema,
        attempts: count.meta({ description: 'Commands sent to the lock for this key so far, retries included.' }),
        // A union, not .nullable(): zod-to-openapi would mark the shared KeyError component itself nullable.
        error: z.union([keyErrorSchema, z.null()]),
      }),
    ),
  })
  .meta({ id: 'RunStatusBody', description: 'A run and the outcome of each of its keys, in request order.' });

/** {@link BulkAddKeysAccepted} as a schema. */
export const bulkAddKeysAcceptedSchema = z
  .object({
    success: z.literal(true),
    lockId: z.number().int().positive(),
    instanceId: z.string().meta({ description: 'The Temporal workflow ID of the run (URL-safe).' }),
  })
  .meta({ id: 'BulkAddKeysAccepted', description: 'The run was started (or, on an idempotent replay, found).' });

/** {@link ErrorDetail} as a schema. */
export const errorDetailSchema = z
  .object({
    path: z.string().meta({ description: 'Where the problem is, e.g. `keys.0.keyIndexNumber`; `""` is the body.' }),
    message: z.string(),
  })
  .meta({ id: 'ErrorDetail' });

/** {@link ErrorBody} as a schema. */
export const errorBodySchema = z
  .object({
    error: z.string().meta({ description: 'The HTTP status title, e.g. `Bad Request`.' }),
    message: z.string().meta({ description: 'One sentence for a person; never internals.' }),
    code: z.number().int().min(400).max(599).meta({ description: 'The HTTP status code.' }),
    details: z.array(errorDetailSchema).optional().meta({ description: 'For 400: each problem found.' }),
  })
  .meta({ id: 'ErrorBody', description: 'Every error answer.' });

// A client-chosen property name is echoed in `path`; a 1 MB name must not come back as a 1 MB error.
const MAX_PATH_SEGMENT_LENGTH = 64;

const pathSegment = (segment: PropertyKey): string => {
  const text = String(segment);
  return text.length > MAX_PATH_SEGMENT_LENGTH ? `${text.slice(0, MAX_PATH_SEGMENT_LENGTH)}…` : text;
};

/**
 * zod issues as SPEC `details`: `keys.0.keyIndexNumber`; the root is `""`. Each unknown property is one
 * detail at its own path (`keys.0.admin`, `__proto__`), with over-long property names shortened.
 */
export function issuesToDetails(issues: readonly z.core.$ZodIssue[]): ErrorDetail[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(pathSegment);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((name) => ({ path: [...path, pathSegment(name)].join('.'), message: 'unknown property' }));
    }
    return [{ path: path.join('.'), message: issue.message }];
  });
}
