import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import {
  FINAL_LOCK_BACKEND_FAILURES,
  type AddKeyFailureDetails,
  type AddKeyResult,
  type KeySpec,
  type RunSettings,
} from '@lockkeys/contracts';
import { LockBackendError, type LockBackend } from './lock-backend';

export interface ActivityDependencies {
  lockBackend: LockBackend;
  /** Settings each run records at its start (see {@link RunSettings}). */
  runSettings: RunSettings;
}

export interface AddKeyInput {
  lockId: number;
  key: KeySpec;
}

/** The activities the worker registers; workflows proxy them by type only. */
export function createActivities({ lockBackend, runSettings }: ActivityDependencies) {
  return {
    /** Worker-side settings of a run, recorded in its history (called as a local activity). */
    async readRunSettings(): Promise<RunSettings> {
      return runSettings;
    },

    /**
     * One command to the lock for one key. Final answers (404/409/422) become non-retryable failures;
     * everything else is thrown as retryable and Temporal's retry policy spaces the attempts.
     */
    async addKey({ lockId, key }: AddKeyInput): Promise<AddKeyResult> {
      const { info, cancellationSignal } = Context.current();
      try {
        const outcome = await lockBackend.putKey(lockId, key, cancellationSignal);
        return { outcome, attempt: info.attempt };
      } catch (error) {
        if (!(error instanceof LockBackendError)) throw error;
        const details: AddKeyFailureDetails = { attempt: info.attempt, httpStatus: error.httpStatus };
        throw ApplicationFailure.create({
          type: error.type,
          message: error.message,
          nonRetryable: FINAL_LOCK_BACKEND_FAILURES.includes(error.type),
          details: [details],
        });
      }
    },
  };
}

/** The activity object's type, for `proxyActivities<Activities>()` in workflow code. */
export type Activities = ReturnType<typeof createActivities>;
