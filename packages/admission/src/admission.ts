import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  admitRunUpdate,
  AdmissionRefusal,
  BULK_ADD_KEYS_WORKFLOW,
  LOCK_ID_KEY,
  LOCK_QUEUE_WORKFLOW,
  LOCK_WORKFLOW_TASK_TIMEOUT_MS,
  lockQueueWorkflowId,
  MEMO_CREATED_AT,
  MEMO_ORG_ID,
  MEMO_REQUEST_HASH,
  ORG_ID_KEY,
  runClosedSignal,
  runDetails,
  runSummaryLine,
  type AdmissionAnswer,
  type AdmissionRequest,
  type BulkAddKeysInput,
  type BulkAddKeysWorkflow,
  type LockQueueWorkflow,
  type TaskQueues,
} from '@lockkeys/contracts';
import { type Client, WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import {
  ApplicationFailure,
  TypedSearchAttributes,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
} from '@temporalio/common';
import { isTemporalUnavailable } from './unavailable';

/** One accepted request, as it goes to its lock and then to its run. */
export interface RunAdmission {
  /** The run's workflow ID. */
  instanceId: string;
  input: BulkAddKeysInput;
  /** Hash of the request's lock and keys (an Idempotency-Key's replay compares it). */
  requestHash: string;
  /** `MAX_ACTIVE_RUNS_PER_LOCK`. */
  maxActiveRuns: number;
  /** When the request was accepted: the run's `createdAt`. */
  acceptedAt: Date;
  /**
   * Epoch ms by which the run is started or the admission gave up, whatever Temporal does: the lock refuses a
   * request it gets to too late, and a place whose run is missing after it is freed (see {@link admitRun}).
   */
  deadline: number;
}

/** A run that exists now, in its place at the lock. */
export interface AdmittedRun {
  answer: AdmissionAnswer;
  /** An earlier POST with this instanceId was admitted (a replay of its Idempotency-Key): this one started nothing. */
  replayed: boolean;
}

/** The lock already has `limit` runs queued, running or paused: nothing was started. */
export class LockFullError extends Error {
  override name = 'LockFullError';
  constructor(
    readonly lockId: number,
    readonly limit: number,
  ) {
    super(`lock ${lockId} already has ${limit} runs queued, running or paused`);
  }
}

/** Temporal, or the lock's workflow (no worker), did not answer by the deadline: the run was not started. */
export class AdmissionTimeoutError extends Error {
  override name = 'AdmissionTimeoutError';
}

/** The instanceId belongs to a run that has closed: nothing was started (an Idempotency-Key used before). */
export class RunIdTakenError extends Error {
  override name = 'RunIdTakenError';
}

/** The lock holds this instanceId for a request with another body (an Idempotency-Key reused): nothing was started. */
export class AdmittedOtherRequestError extends Error {
  override name = 'AdmittedOtherRequestError';
}

/** The shortest deadline that leaves the lock's workflow a whole task to decide and the run time to start. */
export const MIN_ADMISSION_TIMEOUT_MS = LOCK_WORKFLOW_TASK_TIMEOUT_MS + 2_000;

/**
 * Admits one run at its lock and starts it, in two steps that keep every promise of a 202:
 *
 * 1. `admitRun` as update-with-start on the lock's workflow (`lock-{lockId}`, started if none runs): its validator
 *    refuses a full lock ({@link LockFullError}); its handler gives the run its place. The request is small (the
 *    keys never go through the lock) and carries `acceptBy`: a lock that gets to it later refuses it, so an
 *    admission the gateway gave up on never happens afterwards.
 * 2. The run itself, with its place, keys and search attributes (`workflowIdConflictPolicy: USE_EXISTING`,
 *    `workflowIdReusePolicy: REJECT_DUPLICATE`): a retried POST with the same instanceId — its Idempotency-Key, also
 *    after a gateway died between the two steps — finds its place at the lock and starts the run once.
 *
 * Resolves once the run exists; a run never exists without its place (step 1 comes first), and a place whose run
 * never came is freed by the lock after the deadline. Step 2 retries while Temporal is unreachable, up to the deadline
 * ({@link AdmissionTimeoutError}); step 1 throws what Temporal threw (nothing was started).
 */
export async function admitRun(client: Client, queues: TaskQueues, admission: RunAdmission): Promise<AdmittedRun> {
  const { instanceId, input, requestHash, deadline } = admission;
  const nonce = randomUUID();
  const lockId = input.lockId;
  const acceptBy = deadline - LOCK_WORKFLOW_TASK_TIMEOUT_MS - 1_000;

  const request: AdmissionRequest = {
    instanceId,
    maxActiveRuns: admission.maxActiveRuns,
    acceptBy,
    startBy: deadline,
    requestHash,
    nonce,
  };
  // Temporal unreachable before the lock answered: nothing can have been started, so that is said at once (a place the
  // lock gave meanwhile is freed after the deadline). The lock's workflow ending as the update came is tried again.
  const answer = await untilDeadline(client, acceptBy + LOCK_WORKFLOW_TASK_TIMEOUT_MS + 500, 'ending lock', () =>
    admitAtLock(client, queues, lockId, request),
  );
  if (answer.requestHash !== requestHash) {
    throw new AdmittedOtherRequestError(`lock ${lockId} holds ${instanceId} for another request`);
  }

  // Once the lock gave a place, an unreachable Temporal is tried again up to the deadline: a start call that failed may
  // still have started the run, and a 503 must never be followed by a run.
  await untilDeadline(client, deadline, 'unreachable', async () => {
    try {
      await client.workflow.start<BulkAddKeysWorkflow>(BULK_ADD_KEYS_WORKFLOW, {
        taskQueue: queues.runs,
        workflowId: instanceId,
        args: [{ ...input, lock: answer.lock, ...answer.timing }],
        typedSearchAttributes: new TypedSearchAttributes([
          { key: LOCK_ID_KEY, value: lockId },
          { key: ORG_ID_KEY, value: input.orgId },
        ]),
        memo: {
          [MEMO_ORG_ID]: input.orgId,
          [MEMO_REQUEST_HASH]: requestHash,
          [MEMO_CREATED_AT]: admission.acceptedAt.toISOString(),
        },
        staticSummary: runSummaryLine(input),
        staticDetails: runDetails(input),
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      // A closed run has the ID: the place just given can never be used. Freed now; else by the lock's own check.
      await client.workflow
        .getHandle(lockQueueWorkflowId(lockId))
        .signal(runClosedSignal, { instanceId })
        .catch(() => undefined);
      throw new RunIdTakenError(`${instanceId} is the ID of a run that has closed`, { cause: error });
    }
  });
  return { answer, replayed: answer.nonce !== nonce };
}

/**
 * Step 1 alone: one `admitRun` update-with-start on the lock's workflow, one attempt. Throws {@link LockFullError},
 * {@link AdmissionTimeoutError} (the lock got to it after `acceptBy`), or what Temporal threw.
 */
export async function admitAtLock(
  client: Client,
  queues: TaskQueues,
  lockId: number,
  request: AdmissionRequest,
): Promise<AdmissionAnswer> {
  try {
    return await client.workflow.executeUpdateWithStart(admitRunUpdate, {
      // The nonce as the update's ID: an admission that reached the lock is answered again, not repeated.
      updateId: request.nonce,
      args: [request],
      startWorkflowOperation: new WithStartWorkflowOperation<LockQueueWorkflow>(LOCK_QUEUE_WORKFLOW, {
        workflowId: lockQueueWorkflowId(lockId),
        taskQueue: queues.locks,
        args: [{ lockId }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowTaskTimeout: LOCK_WORKFLOW_TASK_TIMEOUT_MS,
        typedSearchAttributes: new TypedSearchAttributes([{ key: LOCK_ID_KEY, value: lockId }]),
        staticSummary: `The queue of the runs on lock ${lockId}, in acceptance order`,
      }),
    });
  } catch (error) {
    const refusal = error instanceof WorkflowUpdateFailedError ? error.cause : undefined;
    if (refusal instanceof ApplicationFailure && refusal.type === AdmissionRefusal.LockFull) {
      throw new LockFullError(lockId, request.maxActiveRuns);
    }
    if (refusal instanceof ApplicationFailure && refusal.type === AdmissionRefusal.AdmissionExpired) {
      throw new AdmissionTimeoutError(refusal.message, { cause: error });
    }
    // The lock's workflow was ending (idle) as the update came: the next attempt starts a new one.
    if (error instanceof WorkflowNotFoundError) throw new RetryableError(error);
    throw error;
  }
}

/** An error worth another attempt, whatever it is. */
class RetryableError extends Error {
  override name = 'RetryableError';
  constructor(readonly original: unknown) {
    super('retryable', { cause: original });
  }
}

/**
 * Runs `attempt` until it succeeds or `until` (epoch ms), trying again after a {@link RetryableError} — and, with
 * `unreachable`, while Temporal is unreachable.
 */
async function untilDeadline<T>(
  client: Client,
  until: number,
  retry: 'ending lock' | 'unreachable',
  attempt: () => Promise<T>,
): Promise<T> {
  for (let backoffMs = 100; ; backoffMs = Math.min(backoffMs * 2, 2_000)) {
    try {
      return await client.connection.withDeadline(until, attempt);
    } catch (error) {
      const retryable = error instanceof RetryableError || (retry === 'unreachable' && isTemporalUnavailable(error));
      if (!retryable) throw error;
      if (Date.now() + backoffMs >= until) {
        const cause = error instanceof RetryableError ? error.original : error;
        throw new AdmissionTimeoutError('Temporal did not admit the run in time', { cause });
      }
      await delay(backoffMs);
    }
  }
}
