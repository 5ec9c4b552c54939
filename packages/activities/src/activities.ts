import { Context, sleep } from '@temporalio/activity';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  acquireLockSignal,
  FINAL_LOCK_BACKEND_FAILURES,
  LOCK_MUTEX_WORKFLOW,
  lockMutexWorkflowId,
  type AddKeyFailureDetails,
  type AddKeyResult,
  type CommandGap,
  type KeySpec,
  type RunSettings,
} from '@lockkeys/contracts';
import { LockBackendError, type LockBackend } from './lock-backend';

export interface ActivityDependencies {
  lockBackend: LockBackend;
  /** Settings each run records at its start (see {@link RunSettings}). */
  runSettings: RunSettings;
  /** Where the per-lock mutex workflows live: the worker's own client and task queue. */
  temporal: { client: Client; taskQueue: string };
}

export interface RequestLockInput {
  lockId: number;
  /** Workflow ID of the run that wants the lock. */
  requesterId: string;
}

export interface AddKeyInput {
  lockId: number;
  key: KeySpec;
  /** Present in runs that keep the gap in the activity (see {@link CommandGap}); older runs slept in the workflow. */
  gap?: CommandGap;
}

/** Now, in epoch ms, on a clock that never goes backwards within this process. */
const monotonicNow = () => Math.ceil(performance.timeOrigin + performance.now());

/**
 * How long to wait before sending, so the command comes at least the gap after the run's previous one.
 * Same process: the rest of the gap since the lock answered, on our own clock. Another process (or no
 * answer): a full gap from now, always enough because that answer came before its activity completed,
 * before we started.
 */
export function remainingGapMs(gap: CommandGap | undefined, attempt: number, process: string, now: number): number {
  // A retry is spaced by the retry policy (first interval >= the gap) from the failed attempt.
  if (!gap?.previous || attempt > 1) return 0;
  const { answeredAt, answeredBy } = gap.previous;
  if (answeredBy === process && answeredAt !== null)
    return Math.max(0, answeredAt + gap.commandGapMs + (gap.marginMs ?? 0) - now);
  return gap.commandGapMs;
}

/** The activities the worker registers; workflows proxy them by type only. */
export function createActivities({ lockBackend, runSettings, temporal }: ActivityDependencies) {
  // This worker process, as `answeredBy` of the answers it receives (pid alone could be reused).
  const processIdentity = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  // When this process last sent a command to each lock: the gap metric is measured at the source.
  const lastCommandAt = new Map<number, number>();
  const recordGap = (lockId: number, sentAt: number) => {
    const previous = lastCommandAt.get(lockId);
    lastCommandAt.delete(lockId);
    lastCommandAt.set(lockId, sentAt);
    if (lastCommandAt.size > 10_000) lastCommandAt.delete(lastCommandAt.keys().next().value!);
    if (previous !== undefined && sentAt - previous < 10 * 60_000) return sentAt - previous;
    return undefined;
  };
  return {
    /** Worker-side settings of a run, recorded in its history (called as a local activity). */
    async readRunSettings(): Promise<RunSettings> {
      return runSettings;
    },

    /**
     * Queues `requesterId` at the mutex of `lockId`, starting the mutex if none runs (signal-with-start is
     * atomic, so two runs never start two mutexes). The mutex answers with `lockGranted` when it is its turn.
     */
    async requestLock({ lockId, requesterId }: RequestLockInput): Promise<void> {
      await temporal.client.workflow.signalWithStart(LOCK_MUTEX_WORKFLOW, {
        workflowId: lockMutexWorkflowId(lockId),
        taskQueue: temporal.taskQueue,
        args: [{ lockId }],
        signal: acquireLockSignal,
        signalArgs: [{ requesterId }],
        staticSummary: `Orders the runs that add keys to lock ${lockId}`,
      });
    },

    /**
     * One command to the lock for one key. Final answers (404/409/422) become non-retryable failures;
     * everything else is thrown as retryable and Temporal's retry policy spaces the attempts.
     */
    async addKey({ lockId, key, gap: commandGap }: AddKeyInput): Promise<AddKeyResult> {
      const { info, cancellationSignal, metricMeter } = Context.current();
      // Timers may fire a millisecond early: wait until the clock says the gap is over.
      for (let wait = remainingGapMs(commandGap, info.attempt, processIdentity, monotonicNow()); wait > 0;) {
        const until = monotonicNow() + wait;
        await sleep(wait);
        wait = until - monotonicNow();
      }
      const sentAt = monotonicNow();
      const commands = metricMeter.createCounter(
        'lockkeys_lock_commands',
        'commands',
        'Commands sent to locks, by answer',
      );
      const gap = recordGap(lockId, sentAt);
      if (gap !== undefined) {
        metricMeter
          .createHistogram(
            'lockkeys_command_gap',
            'int',
            'ms',
            'Time between two commands to one lock from this worker',
          )
          .record(gap);
      }
      try {
        const outcome = await lockBackend.putKey(lockId, key, cancellationSignal);
        commands.add(1, { answer: outcome });
        return { outcome, attempt: info.attempt, answeredAt: monotonicNow(), answeredBy: processIdentity };
      } catch (error) {
        commands.add(1, { answer: error instanceof LockBackendError ? error.type : 'Error' });
        if (!(error instanceof LockBackendError)) throw error;
        // No answer (timeout, dropped reply): unknown when the lock got it, so the next command waits a full gap.
        const answeredAt = error.httpStatus === null ? null : monotonicNow();
        const details: AddKeyFailureDetails = {
          attempt: info.attempt,
          httpStatus: error.httpStatus,
          answeredAt,
          answeredBy: processIdentity,
        };
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
