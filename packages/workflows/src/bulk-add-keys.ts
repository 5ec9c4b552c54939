import {
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { Activities } from '@lockkeys/activities';
import {
  FINAL_LOCK_BACKEND_FAILURES,
  LockBackendFailureType,
  progressQuery,
  summarize,
  type AddKeyFailureDetails,
  type BulkAddKeysInput,
  type BulkAddKeysProgress,
  type KeyError,
  type KeyProgress,
  type RunSettings,
} from '@lockkeys/contracts/workflow';

const { readRunSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds' });

function addKeyActivity(settings: RunSettings) {
  const policy = settings.addKey;
  return proxyActivities<Activities>({
    startToCloseTimeout: policy.startToCloseTimeoutMs,
    scheduleToCloseTimeout: policy.scheduleToCloseTimeoutMs,
    retry: {
      // A retry is a command to the lock too: it may never come sooner than the gap.
      initialInterval: Math.max(policy.initialIntervalMs, settings.commandGapMs),
      backoffCoefficient: policy.backoffCoefficient,
      maximumInterval: Math.max(policy.maximumIntervalMs, policy.initialIntervalMs, settings.commandGapMs),
      maximumAttempts: policy.maximumAttempts,
      nonRetryableErrorTypes: [...FINAL_LOCK_BACKEND_FAILURES],
    },
  }).addKey;
}

/**
 * Sends the keys of one request to one lock, in request order, one `addKey` activity per key and at
 * least `commandGapMs` between two commands. A key that fails for good is recorded and the run goes on;
 * the result is the outcome of every key.
 */
export async function bulkAddKeys(input: BulkAddKeysInput): Promise<BulkAddKeysProgress> {
  const keys: KeyProgress[] = input.keys.map((key) => ({ ...key, status: 'pending', attempts: 0, error: null }));
  const progress = (): BulkAddKeysProgress => ({ lockId: input.lockId, keys, summary: summarize(keys) });
  setHandler(progressQuery, progress);

  const settings = await readRunSettings();
  const addKey = addKeyActivity(settings);

  for (const [index, key] of keys.entries()) {
    if (key.status !== 'pending') continue;
    if (index > 0) await sleep(settings.commandGapMs);
    key.status = 'adding';
    try {
      const { attempt } = await addKey({
        lockId: input.lockId,
        key: { keyUuid: key.keyUuid, keyIndexNumber: key.keyIndexNumber, userId: key.userId },
      });
      key.status = 'added';
      key.attempts = attempt;
    } catch (error) {
      const { error: keyError, attempts } = keyFailure(error);
      key.status = 'failed';
      key.error = keyError;
      key.attempts = attempts ?? key.attempts;
      if (keyError.type === LockBackendFailureType.LockNotFound) {
        // An unknown lock fails every key the same way: send it nothing more.
        for (const rest of keys.slice(index + 1)) {
          rest.status = 'failed';
          rest.error = keyError;
        }
      }
    }
  }
  return progress();
}

/** Turns an `addKey` failure into a key's recorded reason; rethrows what is not the lock's answer (a bug). */
function keyFailure(error: unknown): { error: KeyError; attempts: number | undefined } {
  if (!(error instanceof ActivityFailure)) throw error;
  const cause = error.cause;
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0] as AddKeyFailureDetails | undefined;
    return { error: { type: cause.type ?? 'ApplicationFailure', message: cause.message }, attempts: details?.attempt };
  }
  if (cause instanceof TimeoutFailure) {
    return { error: { type: 'Timeout', message: `addKey ran out of time (${cause.timeoutType})` }, attempts: undefined };
  }
  throw error;
}
