import {
  ActivityCancellationType,
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  ContinueAsNew,
  isCancellation,
  log,
  getExternalWorkflowHandle,
  makeContinueAsNewFunc,
  metricMeter,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  type SignalDefinition,
  sleep,
  TimeoutFailure,
  upsertMemo,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '@lockkeys/activities';
import {
  FINAL_LOCK_BACKEND_FAILURES,
  LockBackendFailureType,
  lockGrantedSignal,
  lockQueueWorkflowId,
  MEMO_CREATED_AT,
  MEMO_SUMMARY,
  pauseSignal,
  progressQuery,
  resumeSignal,
  runClosedSignal,
  runPausedSignal,
  runResumedSignal,
  RunFailureType,
  summarize,
  type AddKeyFailureDetails,
  type BulkAddKeysProgress,
  type BulkAddKeysStart,
  type BulkAddKeysState,
  type KeyError,
  type KeyProgress,
  type LockTiming,
  type RunClosedEventType,
  type RunPhase,
  type RunSettings,
} from '@lockkeys/contracts/workflow';

// Local activities: each runs inside the workflow task that needs it and leaves one marker in the history.
const { readRunSettings, announceRunClosed } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  // Temporal unreachable from the worker: try again until it works.
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

/** Replay-safe: the workflow meter emits only when the code runs for the first time, not on replay. */
function keyMetrics() {
  return {
    added: metricMeter.createCounter('lockkeys_keys_added', 'keys', 'Keys the lock holds'),
    failed: metricMeter.createCounter('lockkeys_keys_failed', 'keys', 'Keys that failed for good, by reason'),
    attempts: metricMeter.createHistogram('lockkeys_key_attempts', 'int', 'attempts', 'Commands per key'),
  };
}

/**
 * Sends the keys of one request to one lock, in request order: per key one `addKey` activity (one command,
 * retried by its policy), then a durable `sleep` of the command gap before the next key (none after the last).
 * Its lock's workflow (`lockQueue`) admitted it and gave it its place: it sends only while it holds the lock, so
 * runs on one lock never interleave, and it tells the lock when it pauses, resumes and closes. A key that fails for
 * good is recorded and the run goes on. Cancel lets the command at the lock finish and marks the rest `cancelled`.
 * Long lists continue as new, with the whole state as the one argument.
 */
export async function bulkAddKeys(start: BulkAddKeysStart | BulkAddKeysState): Promise<BulkAddKeysProgress> {
  const state = 'settings' in start ? start : await initialState(start);
  const run = new RunOfKeys(state);
  let sentThisRun = 0;
  try {
    for (let key = run.nextKey(); key !== undefined; key = run.nextKey()) {
      if (state.paused) await run.pauseUntilResumed();
      if (!state.lock.holding && !(await run.waitForLock())) continue; // paused while queued
      await run.waitForGap();
      if (state.paused) continue; // paused during the wait: nothing more is sent
      await run.send(key);
      sentThisRun++;
      if (run.nextKey() === undefined) break;
      if (state.paused) continue; // the lock goes back now, and counts the gap from when it hears of it
      if (state.settings.commandGapMs > 0) await run.sleep(state.settings.commandGapMs, run.gapSummary());
      if (sentThisRun >= state.settings.maxKeysPerRun || workflowInfo().continueAsNewSuggested) {
        await run.continueAsNew();
      }
    }
    return await run.close('bulkAddKeys.complete');
  } catch (error) {
    if (error instanceof ContinueAsNew) throw error;
    await run.close(isCancellation(error) ? 'bulkAddKeys.cancelled' : 'bulkAddKeys.errored');
    throw error;
  }
}

/** The patch of a run cancelled before its first task (recorded in no other run's history). */
const CLOSE_WHEN_CANCELLED_AT_START = 'close-when-cancelled-at-start';

/** The first run's state: the request, every key pending, its place at the lock, and the worker's settings. */
async function initialState(start: BulkAddKeysStart): Promise<BulkAddKeysState> {
  const { memo, startTime } = workflowInfo();
  const createdAt = typeof memo?.[MEMO_CREATED_AT] === 'string' ? memo[MEMO_CREATED_AT] : startTime.toISOString();
  const settings = await readRunSettings().catch(async (error: unknown) => {
    // Cancelled before its first task: it still closes as every run does (tells its lock, announces its webhook), with
    // the settings read anyway. Runs recorded before this ended here untold and held their place until the review.
    if (!isCancellation(error) || !patched(CLOSE_WHEN_CANCELLED_AT_START)) throw error;
    return CancellationScope.nonCancellable(() => readRunSettings());
  });
  return {
    lockId: start.lockId,
    orgId: start.orgId,
    requestedBy: start.requestedBy,
    keys: start.keys.map((key) => ({ ...key, status: 'pending', attempts: 0, error: null })),
    createdAt,
    settings,
    lock: start.lock,
    notBefore: notBeforeOf(start, settings),
    paused: false,
  };
}

/** One run over its state: the steps the loop above reads as, and the handlers that answer while it runs. */
class RunOfKeys {
  private phase: RunPhase;
  private readonly workflowId = workflowInfo().workflowId;
  private readonly metrics = keyMetrics();

  constructor(private readonly state: BulkAddKeysState) {
    this.phase = state.paused ? 'paused' : state.lock.holding ? 'running' : 'queued';
    setHandler(progressQuery, () => this.progress());
    setHandler(pauseSignal, () => {
      state.paused = true;
    });
    setHandler(resumeSignal, () => {
      state.paused = false;
    });
    setHandler(lockGrantedSignal, ({ ticket, timing }) => {
      // A grant meant for an earlier place (before a pause) is not this run's any more.
      if (ticket !== state.lock.ticket || state.lock.holding) return;
      state.lock.holding = true;
      state.notBefore = Math.max(state.notBefore, notBeforeOf(timing, state.settings));
    });
    this.report();
  }

  nextKey(): KeyProgress | undefined {
    return this.state.keys.find((key) => key.status === 'pending');
  }

  /** Gives the lock back (or leaves the queue), waits — adding nothing to the history — until resumed, queues again. */
  async pauseUntilResumed(): Promise<void> {
    const { ticket } = this.state.lock;
    this.state.lock = { ticket: undefined, holding: false };
    this.phase = 'paused';
    this.report();
    if (ticket !== undefined) await this.tellLock(runPausedSignal, { instanceId: this.workflowId, ticket });
    await condition(() => !this.state.paused);
    this.state.lock = { ticket: uuid4(), holding: false };
    this.phase = 'queued';
    this.report();
    await this.tellLock(runResumedSignal, { instanceId: this.workflowId, ticket: this.state.lock.ticket! });
  }

  /** Waits for the lock's grant; false when the run was paused while it waited. */
  async waitForLock(): Promise<boolean> {
    this.phase = 'queued';
    this.report();
    await condition(() => this.state.lock.holding || this.state.paused);
    if (!this.state.lock.holding) return false;
    this.phase = 'running';
    this.report();
    return true;
  }

  /** The previous run on this lock may have sent its last command less than a gap ago: wait out the rest. */
  async waitForGap(): Promise<void> {
    const wait = this.state.notBefore - Date.now();
    if (wait > 0) await this.sleep(wait, `gap after the previous command to lock ${this.state.lockId}`);
  }

  /** A durable sleep, with what it waits for in the Web UI. */
  async sleep(ms: number, summary: string): Promise<void> {
    await sleep(ms, { summary });
  }

  /** One `addKey` activity for `key`, its outcome recorded on the key. */
  async send(key: KeyProgress): Promise<void> {
    key.status = 'adding';
    this.phase = 'running';
    try {
      const { attempt } = await addKeyActivity(
        this.state.settings,
        this.describe(key),
      )({
        lockId: this.state.lockId,
        key: { keyUuid: key.keyUuid, keyIndexNumber: key.keyIndexNumber, userId: key.userId },
      });
      Object.assign(key, { status: 'added', attempts: attempt });
      this.metrics.added.add(1);
    } catch (error) {
      if (isCancellation(error)) throw error;
      const failure = keyFailure(error);
      Object.assign(key, { status: 'failed', error: failure.error, attempts: failure.attempts ?? key.attempts });
      this.metrics.failed.add(1, { reason: failure.error.type });
      if (failure.error.type === LockBackendFailureType.LockNotFound) {
        // An unknown lock fails every key the same way: send it nothing more.
        for (const rest of this.state.keys)
          if (rest.status === 'pending') Object.assign(rest, { status: 'failed', error: failure.error });
      }
    } finally {
      if (key.status !== 'adding') this.metrics.attempts.record(key.attempts);
      this.report();
    }
  }

  gapSummary(): string {
    return `${this.state.settings.commandGapMs} ms before the next command to lock ${this.state.lockId}`;
  }

  async continueAsNew(): Promise<never> {
    await condition(allHandlersFinished);
    log.info('continuing as new', { lockId: this.state.lockId, done: summarize(this.state.keys) });
    const { memo, typedSearchAttributes } = workflowInfo();
    return makeContinueAsNewFunc<typeof bulkAddKeys>({ memo, typedSearchAttributes })(this.state);
  }

  /**
   * The end, whatever it is: unsent keys of a cancelled run are `cancelled`, the lock hears of it before anything
   * else (its next run may go), the summary goes into the memo for listings, and the closing is announced to the
   * organization's webhook endpoint (a workflow of its own, so a slow receiver never holds the lock nor this result).
   */
  async close(type: RunClosedEventType): Promise<BulkAddKeysProgress> {
    if (type === 'bulkAddKeys.cancelled') {
      for (const key of this.state.keys)
        if (key.status === 'pending' || key.status === 'adding') key.status = 'cancelled';
    }
    this.phase = 'done';
    this.report();
    const progress = this.progress();
    await CancellationScope.nonCancellable(async () => {
      // A command, so it goes out only once the task that recorded the last command is recorded too; a run that
      // closes must wait for it to be delivered (the server drops a closed run's signals).
      await this.tellLock(runClosedSignal, { instanceId: this.workflowId });
      upsertMemo({ [MEMO_SUMMARY]: progress.summary });
      await announceRunClosed({ type, instanceId: this.workflowId, orgId: this.state.orgId });
    });
    return progress;
  }

  /** A signal to this run's lock; a lock's workflow that is gone (terminated) holds nothing of this run. */
  private async tellLock<Arg>(signal: SignalDefinition<[Arg]>, arg: Arg): Promise<void> {
    try {
      await getExternalWorkflowHandle(lockQueueWorkflowId(this.state.lockId)).signal(signal, arg);
    } catch (error) {
      log.warn('the lock did not get a signal', { lockId: this.state.lockId, signal: signal.name, error });
    }
  }

  private progress(): BulkAddKeysProgress {
    const { lockId, createdAt, keys } = this.state;
    return { lockId, phase: this.phase, createdAt, keys, summary: summarize(keys) };
  }

  private describe(key: KeyProgress): string {
    return `key ${this.state.keys.indexOf(key) + 1}/${this.state.keys.length} → slot ${key.keyIndexNumber}`;
  }

  /** The Web UI's current details: counts, and where the run stands when it is not sending. */
  private report(): void {
    const { added, failed, total } = summarize(this.state.keys);
    const counts = `${added}/${total} added, ${failed} failed`;
    const where = { queued: `waiting for lock ${this.state.lockId}: `, paused: 'paused: ', running: '', done: '' };
    setCurrentDetails(`${where[this.phase]}${counts}`);
  }
}

/** When the next command may go, from what the lock says: its own release time plus this run's gap, or its bound. */
function notBeforeOf(timing: LockTiming, settings: RunSettings): number {
  return Math.max(timing.notBefore, timing.releasedAt > 0 ? timing.releasedAt + settings.commandGapMs : 0);
}

/**
 * The `addKey` activity of one key: a local activity (it runs in the workflow task that needs it: one history
 * event, no task queue round trip) or a regular activity task. Either way one command per attempt, with the
 * retry policy spaced by at least the gap.
 */
function addKeyActivity(settings: RunSettings, summary: string) {
  const policy = settings.addKey;
  const options = {
    summary,
    startToCloseTimeout: policy.startToCloseTimeoutMs,
    scheduleToCloseTimeout: policy.scheduleToCloseTimeoutMs,
    // On cancel, a command already at the lock finishes and reports; one waiting for a retry is dropped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      // A retry is a command to the lock too: it may never come sooner than the gap after the failed one.
      initialInterval: Math.max(policy.initialIntervalMs, settings.commandGapMs),
      backoffCoefficient: policy.backoffCoefficient,
      maximumInterval: Math.max(policy.maximumIntervalMs, policy.initialIntervalMs, settings.commandGapMs),
      maximumAttempts: policy.maximumAttempts,
      nonRetryableErrorTypes: [...FINAL_LOCK_BACKEND_FAILURES],
    },
  };
  return policy.activity === 'remote'
    ? proxyActivities<Activities>(options).addKey
    : proxyLocalActivities<Activities>(options).addKey;
}

/** Turns an `addKey` failure into a key's recorded reason; rethrows what is not the lock's answer (a bug). */
function keyFailure(error: unknown): { error: KeyError; attempts: number | undefined } {
  // A regular activity's failure wraps the activity's own; a local activity's is that failure itself.
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0] as AddKeyFailureDetails | undefined;
    return { error: { type: cause.type ?? 'ApplicationFailure', message: cause.message }, attempts: details?.attempt };
  }
  if (cause instanceof TimeoutFailure) {
    const message = `addKey ran out of time (${cause.timeoutType})`;
    return { error: { type: RunFailureType.Timeout, message }, attempts: undefined };
  }
  throw error;
}
