import {
  keyOutcomes,
  MEMO_CREATED_AT,
  progressQuery,
  summarize,
  type BulkAddKeysProgress,
  type BulkAddKeysWorkflow,
  type RunStatus,
  type RunStatusBody,
} from '@lockkeys/contracts';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { progressFromHistory } from './run-history';

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

/** What one run looks like in visibility (a listing entry or a describe), as a status body needs it. */
export interface RunRecord {
  instanceId: string;
  lockId: number;
  status: number;
  startTime: Date;
  closeTime: Date | undefined;
  memo: Record<string, unknown>;
}

/** The record of a run from its `describe`, for the lock it is known to be on. */
export function runRecordOf(instanceId: string, lockId: number, description: WorkflowExecutionDescription): RunRecord {
  return {
    instanceId,
    lockId,
    status: description.raw.workflowExecutionInfo?.status ?? RUNNING,
    startTime: description.startTime,
    closeTime: description.closeTime,
    memo: description.memo ?? {},
  };
}

/** How the reads are made: `call` wraps each Temporal call (deadlines, error mapping); the query's own deadline. */
export interface StatusReadOptions {
  call?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Bound of the progress query; a run whose worker does not answer in time is read from its history. */
  queryDeadlineMs: number;
}

/**
 * Per-key progress: a completed run's result; an open run's own query, answered by a worker; otherwise (no worker
 * answered in time, or the run closed otherwise) rebuilt from the run's history, never from its request.
 */
export async function progressOf(
  client: Client,
  run: RunRecord,
  options: StatusReadOptions,
): Promise<BulkAddKeysProgress> {
  const call = options.call ?? ((fn) => fn());
  const handle = client.workflow.getHandle<BulkAddKeysWorkflow>(run.instanceId);
  if (run.status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED) {
    return call(() => handle.result());
  }
  if (run.status === RUNNING) {
    try {
      return await client.connection.withDeadline(Date.now() + options.queryDeadlineMs, () =>
        handle.query(progressQuery),
      );
    } catch {
      // no worker answered: the history tells
    }
  }
  const history = await call(() => handle.fetchHistory());
  const { payloadConverter } = client.options.loadedDataConverter;
  return progressFromHistory(history.events ?? [], (payload) => payloadConverter.fromPayload(payload));
}

/** `createdAt` of a run: when the gateway accepted it (its memo), else what its progress says, else its start. */
export const createdAtOf = (run: RunRecord, progress?: { createdAt: string }) =>
  typeof run.memo[MEMO_CREATED_AT] === 'string'
    ? (run.memo[MEMO_CREATED_AT] as string)
    : (progress?.createdAt ?? run.startTime.toISOString());

/** The API's status of a run: its Temporal status once closed, else where the run says it stands. */
export function statusOf(run: RunRecord, progress: Pick<BulkAddKeysProgress, 'phase'>): RunStatus {
  if (run.status !== RUNNING) return CLOSED_STATUS[run.status] ?? 'errored';
  return progress.phase === 'paused' ? 'paused' : progress.phase === 'queued' ? 'queued' : 'running';
}

/** The status body of `run` (SPEC's `GET …/{instanceId}`). */
export async function statusBodyOf(client: Client, run: RunRecord, options: StatusReadOptions): Promise<RunStatusBody> {
  const progress = await progressOf(client, run, options);
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
