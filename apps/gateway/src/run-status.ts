import {
  BULK_ADD_KEYS_WORKFLOW,
  LOCK_ID_KEY,
  MEMO_ORG_ID,
  pauseSignal,
  resumeSignal,
  type BulkAddKeysWorkflow,
  type RunStatusBody,
} from '@lockkeys/contracts';
import { RUNNING, runRecordOf, statusBodyOf, type RunRecord } from '@lockkeys/run-status';
import { WorkflowNotFoundError } from '@temporalio/client';
import { RunAlreadyClosedError, RunNotFoundError, type RunAction, type RunRef, type RunService } from './runs';
import type { TemporalSession } from './temporal-client';

/** One run's status body, and what a client may do to it: read, cancel, pause, resume. */
export interface RunStatusReader extends Pick<RunService, 'status' | 'cancel' | 'pause' | 'resume'> {
  /** The status body of a run found in visibility (a listing's open entry). */
  statusBody(run: RunRecord): Promise<RunStatusBody>;
}

export function createRunStatusReader(session: TemporalSession): RunStatusReader {
  const { client, call } = session;
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
    return runRecordOf(ref.instanceId, ref.lockId, description);
  }

  const statusBody = (run: RunRecord) =>
    statusBodyOf(client, run, { call: (fn) => call(fn), queryDeadlineMs: session.queryDeadlineMs });

  /** `fn` on an open run; one that closed since it was found open is {@link RunAlreadyClosedError} too. */
  async function closedMeanwhile(ref: RunRef, action: RunAction, fn: () => Promise<unknown>): Promise<void> {
    await call(fn).catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError)
        throw new RunAlreadyClosedError(action, `run ${ref.instanceId} has closed`);
      throw error;
    });
  }

  async function openOwned(ref: RunRef, action: RunAction): Promise<RunRecord> {
    const run = await describeOwned(ref);
    if (run.status !== RUNNING) throw new RunAlreadyClosedError(action, `run ${ref.instanceId} has closed`);
    return run;
  }

  return {
    statusBody,
    async status(ref) {
      return statusBody(await describeOwned(ref));
    },
    async cancel(ref) {
      await openOwned(ref, 'cancel');
      await closedMeanwhile(ref, 'cancel', () => handleOf(ref.instanceId).cancel());
      return statusBody(await describeOwned(ref));
    },
    async pause(ref) {
      const run = await openOwned(ref, 'pause');
      await closedMeanwhile(ref, 'pause', () => handleOf(ref.instanceId).signal(pauseSignal));
      return statusBody(run);
    },
    async resume(ref) {
      const run = await openOwned(ref, 'resume');
      await closedMeanwhile(ref, 'resume', () => handleOf(ref.instanceId).signal(resumeSignal));
      return statusBody(run);
    },
  };
}
