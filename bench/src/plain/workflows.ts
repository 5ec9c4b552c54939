/**
 * The plain Temporal peer of `bulkAddKeys`: the design's shape and nothing more — per key one `addKey` activity,
 * then a durable `sleep` before the next key. No lock mutex, no progress query, no settings, no continue-as-new.
 * Bundled by the bench at run time (`bundleWorkflowCode`); deterministic workflow code, like packages/workflows.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities, sleep } from '@temporalio/workflow';
import { FINAL_LOCK_BACKEND_FAILURES, type KeySpec } from '@lockkeys/contracts/workflow';
import type { PlainActivities } from './activities';

export interface PlainRunInput {
  lockId: number;
  keys: KeySpec[];
  /** The sleep between two keys (the bench passes KEY_COMMAND_GAP_MS, 1000). */
  gapMs: number;
}

export interface PlainKeyOutcome {
  keyUuid: string;
  added: boolean;
  /** The failure type of a key that failed for good. */
  error?: string;
}

// The product's retry policy idea: first retry after the gap, exponential back-off, capped, bounded attempts.
const { addKey } = proxyActivities<PlainActivities>({
  startToCloseTimeout: '6 seconds',
  scheduleToCloseTimeout: '15 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...FINAL_LOCK_BACKEND_FAILURES],
  },
});

/** Workflow type `plainBulkAddKeys` (the bench names it `PLAIN_WORKFLOW`). */
export async function plainBulkAddKeys(input: PlainRunInput): Promise<PlainKeyOutcome[]> {
  const outcomes: PlainKeyOutcome[] = [];
  for (const [index, key] of input.keys.entries()) {
    if (index > 0) await sleep(input.gapMs);
    try {
      await addKey(input.lockId, key);
      outcomes.push({ keyUuid: key.keyUuid, added: true });
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      const type = error.cause instanceof ApplicationFailure ? error.cause.type : undefined;
      outcomes.push({ keyUuid: key.keyUuid, added: false, error: type ?? error.cause?.name ?? 'ActivityFailure' });
    }
  }
  return outcomes;
}
