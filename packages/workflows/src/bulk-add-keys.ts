import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  metricMeter,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '@lockkeys/activities';
import {
  FINAL_LOCK_BACKEND_FAILURES,
  lockGrantedSignal,
  lockHolderCheckSignal,
  LockBackendFailureType,
  lockMutexWorkflowId,
  progressQuery,
  releaseLockSignal,
  summarize,
  type AddKeyFailureDetails,
  type BulkAddKeysCarriedState,
  type BulkAddKeysInput,
  type BulkAddKeysProgress,
  type KeyError,
  type KeyProgress,
  type RunPhase,
  type RunSettings,
  type AnsweredCommand,
} from '@lockkeys/contracts/workflow';

const { readRunSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds' });
const { requestLock } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/**
 * Runs from before this patch sleep the gap in the workflow (a timer per key); newer runs let `addKey` wait
 * for the rest of the gap itself, which saves the timer's round trips and half the history events per key.
 */
const GAP_IN_ACTIVITY_PATCH = 'command-gap-in-activity';

function addKeyActivity(settings: RunSettings, key: KeyProgress, gapInActivity: boolean) {
  const policy = settings.addKey;
  const gapNote =
    gapInActivity && settings.commandGapMs > 0 ? ` (≥ ${settings.commandGapMs} ms after the previous command)` : '';
  return proxyActivities<Activities>({
    summary: `key #${key.keyIndexNumber} → slot ${key.keyIndexNumber}${gapNote}`,
    startToCloseTimeout: policy.startToCloseTimeoutMs,
    scheduleToCloseTimeout: policy.scheduleToCloseTimeoutMs,
    // On cancel, a command already at the lock finishes and reports; one waiting for a retry is dropped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
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
 * least `commandGapMs` between two commands to the lock — across runs too, through the lock's mutex.
 * A key that fails for good is recorded and the run goes on; the result is the outcome of every key.
 * Cancel: the command in flight finishes, every key not yet sent ends `cancelled`, the run ends cancelled.
 * Long lists continue as new every `maxKeysPerRun` keys (or sooner when the server suggests it).
 */
export async function bulkAddKeys(
  input: BulkAddKeysInput,
  carried?: BulkAddKeysCarriedState,
): Promise<BulkAddKeysProgress> {
  const { workflowId } = workflowInfo();
  // Replay-safe: the workflow meter emits only when the code runs for the first time, not on replay.
  const keysAdded = metricMeter.createCounter('lockkeys_keys_added', 'keys', 'Keys the lock holds');
  const keysFailed = metricMeter.createCounter('lockkeys_keys_failed', 'keys', 'Keys that failed for good, by reason');
  const keyAttempts = metricMeter.createHistogram(
    'lockkeys_key_attempts',
    'int',
    'attempts',
    'Commands per key until added or failed',
  );
  const keys: KeyProgress[] =
    carried?.keys ?? input.keys.map((key) => ({ ...key, status: 'pending', attempts: 0, error: null }));
  const createdAt = carried?.createdAt ?? new Date(workflowInfo().startTime).toISOString();
  let phase: RunPhase = carried?.holdsLock ? 'sending' : 'waitingForLock';
  let holdsLock = carried?.holdsLock ?? false;
  let commandSent = carried?.commandSent ?? false;
  let lastCommand: AnsweredCommand | undefined = carried?.lastCommand;
  const progress = (): BulkAddKeysProgress => ({
    lockId: input.lockId,
    phase,
    createdAt,
    keys,
    summary: summarize(keys),
  });
  setHandler(progressQuery, progress);
  setHandler(lockGrantedSignal, () => void (holdsLock = true));
  setHandler(lockHolderCheckSignal, () => undefined);

  const settings = carried?.settings ?? (await readRunSettings());
  const report = () => {
    const { added, failed, total } = summarize(keys);
    setCurrentDetails(`${added}/${total} added, ${failed} failed`);
  };
  report();

  let continuing = false;
  try {
    if (!holdsLock) {
      await requestLock({ lockId: input.lockId, requesterId: workflowId });
      await condition(() => holdsLock);
      phase = 'sending';
    }
    let sentThisRun = 0;
    for (const [index, key] of keys.entries()) {
      if (key.status !== 'pending') continue;
      // Without a timer between keys nothing else would throw: notice a cancel before the next key or a
      // continue-as-new (which would drop the request).
      if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('run cancelled');
      if (sentThisRun >= settings.maxKeysPerRun || (sentThisRun > 0 && workflowInfo().continueAsNewSuggested)) {
        continuing = true;
        const next: BulkAddKeysCarriedState = {
          keys,
          settings,
          createdAt,
          holdsLock,
          commandSent,
          ...(lastCommand ? { lastCommand } : {}),
        };
        log.info('continuing as new', { lockId: input.lockId, nextKey: index });
        // Carry the progress, not the request twice; memo and LockId stay with the workflow.
        await makeContinueAsNewFunc<typeof bulkAddKeys>({
          memo: workflowInfo().memo,
          typedSearchAttributes: workflowInfo().typedSearchAttributes,
        })({ ...input, keys: [] }, next);
      }
      const gapInActivity = patched(GAP_IN_ACTIVITY_PATCH);
      if (!gapInActivity && commandSent && settings.commandGapMs > 0) {
        await sleep(settings.commandGapMs, { summary: 'gap before next key' });
      }
      key.status = 'adding';
      commandSent = true;
      sentThisRun++;
      try {
        const { attempt, answeredAt, answeredBy } = await addKeyActivity(
          settings,
          key,
          gapInActivity,
        )({
          lockId: input.lockId,
          key: { keyUuid: key.keyUuid, keyIndexNumber: key.keyIndexNumber, userId: key.userId },
          ...(gapInActivity
            ? {
                gap: {
                  commandGapMs: settings.commandGapMs,
                  ...(lastCommand ? { previous: lastCommand } : {}),
                },
              }
            : {}),
        });
        lastCommand = { answeredAt, answeredBy };
        key.status = 'added';
        key.attempts = attempt;
        keysAdded.add(1);
        keyAttempts.record(attempt);
      } catch (error) {
        if (isCancellation(error)) throw error;
        const failure = keyFailure(error);
        // The command went out (or may have): the next one keeps the gap after its answer.
        lastCommand = failure.answered ?? { answeredAt: null, answeredBy: null };
        key.status = 'failed';
        key.error = failure.error;
        key.attempts = failure.attempts ?? key.attempts;
        keysFailed.add(1, { reason: failure.error.type });
        keyAttempts.record(key.attempts);
        if (failure.error.type === LockBackendFailureType.LockNotFound) {
          // An unknown lock fails every key the same way: send it nothing more.
          for (const rest of keys.slice(index + 1)) Object.assign(rest, { status: 'failed', error: failure.error });
        }
      } finally {
        report();
      }
    }
    phase = 'done';
    return progress();
  } catch (error) {
    if (isCancellation(error)) {
      for (const key of keys) if (key.status === 'pending' || key.status === 'adding') key.status = 'cancelled';
      phase = 'done';
      report();
    }
    throw error;
  } finally {
    if (!continuing) {
      // Give the lock back (or leave its queue), even when cancelled.
      await CancellationScope.nonCancellable(() =>
        getExternalWorkflowHandle(lockMutexWorkflowId(input.lockId))
          .signal(releaseLockSignal, { requesterId: workflowId })
          .catch(() => undefined),
      );
    }
  }
}

/** Turns an `addKey` failure into a key's recorded reason; rethrows what is not the lock's answer (a bug). */
function keyFailure(error: unknown): { error: KeyError; attempts: number | undefined; answered?: AnsweredCommand } {
  if (!(error instanceof ActivityFailure)) throw error;
  const cause = error.cause;
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0] as AddKeyFailureDetails | undefined;
    return {
      error: { type: cause.type ?? 'ApplicationFailure', message: cause.message },
      attempts: details?.attempt,
      ...(details?.answeredBy !== undefined
        ? { answered: { answeredAt: details.answeredAt, answeredBy: details.answeredBy } }
        : {}),
    };
  }
  if (cause instanceof TimeoutFailure) {
    return {
      error: { type: 'Timeout', message: `addKey ran out of time (${cause.timeoutType})` },
      attempts: undefined,
    };
  }
  throw error;
}
