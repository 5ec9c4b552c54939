import { ApplicationFailure } from '@temporalio/common';
import { LockBackendError, type LockBackend, type PutKeyOutcome } from '@lockkeys/activities';
import { FINAL_LOCK_BACKEND_FAILURES, type KeySpec } from '@lockkeys/contracts';

/**
 * The plain peer's one activity: one `PUT /locks/{lockId}/keys/{keyIndexNumber}` with `Idempotency-Key`, through the
 * same lock-backend client as lockkeys (so both pay the same HTTP cost); final answers are non-retryable.
 */
export function createPlainActivities(lockBackend: LockBackend) {
  return {
    async addKey(lockId: number, key: KeySpec): Promise<PutKeyOutcome> {
      try {
        return await lockBackend.putKey(lockId, key);
      } catch (error) {
        if (!(error instanceof LockBackendError)) throw error;
        throw ApplicationFailure.create({
          type: error.type,
          message: error.message,
          nonRetryable: FINAL_LOCK_BACKEND_FAILURES.includes(error.type),
        });
      }
    },
  };
}

export type PlainActivities = ReturnType<typeof createPlainActivities>;
