import { createHash, randomUUID } from 'node:crypto';
import {
  AdmissionTimeoutError,
  AdmittedOtherRequestError,
  admitRun,
  isTemporalUnavailable,
  LockFullError,
  RunIdTakenError,
} from '@lockkeys/admission';
import { MEMO_REQUEST_HASH, type BulkAddKeysInput } from '@lockkeys/contracts';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { TemporalServiceConfig, TemporalSession } from './temporal-client';
import {
  IdempotencyConflictError,
  TemporalUnavailableError,
  TooManyActiveRunsError,
  type RunService,
  type StartedRun,
} from './runs';

/** How long a client whose lock is full should wait: about one short run's time (SPEC leaves it to us). */
const FULL_LOCK_RETRY_AFTER_SECONDS = 60;

/** A fresh workflow ID for a run on `lockId`: URL-safe, so it doubles as the instanceId in URLs. */
export function newInstanceId(lockId: number): string {
  return `lock-${lockId}-${randomUUID()}`;
}

/**
 * The workflow ID of an idempotent request: the same organization, lock and Idempotency-Key always map to
 * the same ID, so Temporal's workflow-ID uniqueness (not a side table) makes the start happen once.
 */
export function idempotentInstanceId(orgId: string, lockId: number, idempotencyKey: string): string {
  const digest = createHash('sha256').update(`${orgId}\n${lockId}\n${idempotencyKey}`).digest('base64url');
  return `lock-${lockId}-idem-${digest.slice(0, 32)}`;
}

/** What makes two requests "the same body": the lock and the keys, in order. */
export function requestHash(input: Pick<BulkAddKeysInput, 'lockId' | 'keys'>): string {
  const canonical = JSON.stringify([input.lockId, input.keys.map((k) => [k.keyUuid, k.keyIndexNumber, k.userId])]);
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * `RunService.start`: a POST becomes one admission at its lock's workflow and then its run
 * (`@lockkeys/admission`). A replay of an Idempotency-Key whose run exists (also closed) is answered from that run
 * and touches no lock, however full it is now.
 */
export function createAdmission(session: TemporalSession, config: TemporalServiceConfig): RunService['start'] {
  const { client, call } = session;
  const { maxActiveRunsPerLock, admissionTimeoutMs } = config.limits;

  /** The run of an earlier request with this instanceId, compared with this one; undefined when there is none. */
  async function earlier(instanceId: string, hash: string): Promise<StartedRun | undefined> {
    const description = await call(() => client.workflow.getHandle(instanceId).describe()).catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    });
    if (description === undefined) return undefined;
    if (description.memo?.[MEMO_REQUEST_HASH] !== hash) throw conflict();
    return { instanceId, replayed: true };
  }

  return async ({ input, idempotencyKey }) => {
    const hash = requestHash(input);
    const instanceId =
      idempotencyKey === undefined
        ? newInstanceId(input.lockId)
        : idempotentInstanceId(input.orgId, input.lockId, idempotencyKey);
    if (idempotencyKey !== undefined) {
      const replay = await earlier(instanceId, hash);
      if (replay !== undefined) return replay;
    }
    const acceptedAt = new Date();
    try {
      const { replayed } = await admitRun(client, session.taskQueues, {
        instanceId,
        input,
        requestHash: hash,
        maxActiveRuns: maxActiveRunsPerLock,
        acceptedAt,
        deadline: acceptedAt.getTime() + admissionTimeoutMs,
      });
      return { instanceId, replayed };
    } catch (error) {
      if (error instanceof LockFullError) {
        throw new TooManyActiveRunsError(input.lockId, maxActiveRunsPerLock, FULL_LOCK_RETRY_AFTER_SECONDS);
      }
      if (error instanceof AdmittedOtherRequestError) throw conflict();
      // The run of this Idempotency-Key closed between the look above and the start: answer from it.
      if (error instanceof RunIdTakenError && idempotencyKey !== undefined) {
        const replay = await earlier(instanceId, hash);
        if (replay !== undefined) return replay;
      }
      if (error instanceof AdmissionTimeoutError || isTemporalUnavailable(error)) {
        const why = error instanceof Error ? error.message : String(error);
        throw new TemporalUnavailableError(`the run was not admitted: ${why}`, { cause: error });
      }
      throw error;
    }
  };
}

const conflict = () => new IdempotencyConflictError('Idempotency-Key was used before with a different request');
