import {
  BULK_ADD_KEYS_WORKFLOW,
  keyOutcomes,
  LOCK_ID_KEY,
  MEMO_CREATED_AT,
  MEMO_ORG_ID,
  pauseSignal,
  progressQuery,
  resumeSignal,
  summarize,
  type BulkAddKeysProgress,
  type BulkAddKeysWorkflow,
  type RunStatus,
  type RunStatusBody,
} from '@lockkeys/contracts';
import { WorkflowNotFoundError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { progressFromHistory } from './run-history';
import { RunAlreadyClosedError, RunNotFoundError, type RunAction, type RunRef, type RunService } from './runs';
import type { TemporalSession } from './temporal-client';

const { WorkflowExecutionStatus } = temporal.api.enums.v1;
/** The API status of a closed run, by Temporal's execution status. */
export const CLOSED_STATUS: Partial<Record<number, RunStatus>> = {
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED]: 'complete',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED]: 'errored',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT]: 'errored',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED]: 'cancelled',
  [WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED]: 'terminated',
};
export const RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;

/** What one run looks like in visibility (a listing entry or a describe), as the service needs it. */
export interface RunRecord {
  instanceId: string;
  lockId: number;
  status: number;
  startTime: Date;
  closeTime: Date | undefined;
  memo: Record<string, unknown>;
}

/** One run's status body, and what a client may do to it: read, cancel, pause, resume. */
export interface RunStatusReader extends Pick<RunService, 'status' | 'cancel' | 'pause' | 'resume'> {
  /** The status body of a run found in visibility (a listing's open entry). */
  statusBody(run: RunRecord): Promise<RunStatusBody>;
  /** `createdAt` of a run: from its memo, else its progress, else its start. */
  createdAtOf(run: RunRecord, progress?: { createdAt: string }): string;
}

export function createRunStatusReader(session: TemporalSession): RunStatusReader {
  const { client, connection, call, decode } = session;
  const handleOf = (instanceId: string) => client.workflow.getHandle<BulkAddKeysWorkflow>(instanceId);

  /** The run if it exists, is a bulkAddKeys run, and belongs to this organization and lock. */
  async function describeOwned(ref: RunRef): Promise<RunRecord> {
    const description = await call(() => handleOf(ref.instanceId).describe()).catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(`no run ${ref.instanceId}`);
      throw error;
    });
    const owned =
      description.type === BULK_ADD_KEYS_WORKFLOW &&
      description.memo?.[MEMO_ORG_ID] === ref.orgId &&
      description.typedSearchAttributes.get(LOCK_ID_KEY) === ref.lockId;
    if (!owned) throw new RunNotFoundError(`no run ${ref.instanceId} for org ${ref.orgId} on lock ${ref.lockId}`);
    return {
      instanceId: ref.instanceId,
      lockId: ref.lockId,
      status: description.raw.workflowExecutionInfo?.status ?? RUNNING,
      startTime: description.startTime,
      closeTime: description.closeTime,
      memo: description.memo ?? {},
    };
  }

  /**
   * Per-key progress: a completed run's result; an open run's own query, answered by a worker; otherwise (no
   * worker answered in time, or the run closed otherwise) rebuilt from the run's history, never from its request.
   */
  async function progressOf(run: RunRecord): Promise<BulkAddKeysProgress> {
    const handle = handleOf(run.instanceId);
    if (run.status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED) {
      return call(() => handle.result());
    }
    if (run.status === RUNNING) {
      try {
        return await connection.withDeadline(Date.now() + session.queryDeadlineMs, () => handle.query(progressQuery));
      } catch {
        // no worker answered: the history tells
      }
    }
    const history = await call(() => handle.fetchHistory());
    return progressFromHistory(history.events ?? [], decode);
  }

  function statusOf(run: RunRecord, progress: Pick<BulkAddKeysProgress, 'phase'>): RunStatus {
    if (run.status !== RUNNING) return CLOSED_STATUS[run.status] ?? 'errored';
    return progress.phase === 'paused' ? 'paused' : progress.phase === 'queued' ? 'queued' : 'running';
  }

  const createdAtOf = (run: RunRecord, progress?: { createdAt: string }) =>
    typeof run.memo[MEMO_CREATED_AT] === 'string'
      ? (run.memo[MEMO_CREATED_AT] as string)
      : (progress?.createdAt ?? run.startTime.toISOString());

  async function statusBody(run: RunRecord): Promise<RunStatusBody> {
    const progress = await progressOf(run);
    return {
      instanceId: run.instanceId,
      lockId: run.lockId,
      status: statusOf(run, progress),
      createdAt: createdAtOf(run, progress),
      closedAt: run.closeTime?.toISOString() ?? null,
      summary: summarize(progress.keys),
      keys: keyOutcomes(progress.keys),
    };
  }

  async function openOwned(ref: RunRef, action: RunAction): Promise<RunRecord> {
    const run = await describeOwned(ref);
    if (run.status !== RUNNING) throw new RunAlreadyClosedError(action, `run ${ref.instanceId} has closed`);
    return run;
  }

  return {
    statusBody,
    createdAtOf,
    async status(ref) {
      return statusBody(await describeOwned(ref));
    },
    async cancel(ref) {
      await openOwned(ref, 'cancel');
      await call(() => handleOf(ref.instanceId).cancel());
      return statusBody(await describeOwned(ref));
    },
    async pause(ref) {
      const run = await openOwned(ref, 'pause');
      await call(() => handleOf(ref.instanceId).signal(pauseSignal));
      return statusBody(run);
    },
    async resume(ref) {
      const run = await openOwned(ref, 'resume');
      await call(() => handleOf(ref.instanceId).signal(resumeSignal));
      return statusBody(run);
    },
  };
}
