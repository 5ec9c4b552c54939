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
  makeContinueAsNewFunc,
  metricMeter,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
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
  lockHolderCheckSignal,
  MEMO_CREATED_AT,
  MEMO_SUMMARY,
  pauseSignal,
  progressQuery,
  resumeSignal,
  RunFailureType,
  summarize,
  type AddKeyFailureDetails,
  type BulkAddKeysInput,
  type BulkAddKeysProgress,
  type BulkAddKeysState,
  type KeyError,
  type KeyProgress,
  type RunClosedEventType,
  type RunPhase,
  type RunSettings,
} from '@lockkeys/contracts/workflow';

// Local activities: each runs inside the workflow task that needs it and leaves one marker in the history.
const { readRunSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds' });
const { acquireLock, releaseLock, announceRunClosed } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  // Temporal unreachable from the worker, or a mutex that just ended: try again until it works.
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
 * It holds the lock's mutex while it sends, so runs on one lock never interleave and the gap holds across them.
 * A key that fails for good is recorded and the run goes on. Pause gives the lock to the next run and waits;
 * cancel lets the command at the lock finish and marks the rest `cancelled`. Long lists continue as new, with
 * the whole state as the one argument.
 */
export async function bulkAddKeys(start: BulkAddKeysInput | BulkAddKeysState): Promise<BulkAddKeysProgress> {
  const state = 'settings' in start ? start : await initialState(start);
  const run = new RunOfKeys(state);
  let sentThisRun = 0;
  try {
    for (let key = run.nextKey(); key !== undefined; key = run.nextKey()) {
      if (state.paused) await run.pauseUntilResumed();
      if (state.lockTicket === undefined && !(await run.queueForLock())) continue; // paused while queued
      await run.waitForGap();
      if (state.paused) continue; // paused during the wait: nothing more is sent
      await run.send(key);
      sentThisRun++;
      if (run.nextKey() === undefined) break;
      // Also when paused: the lock is given back after the gap, in a task of its own (see giveBackLock).
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

/** The first run's state: the request, every key pending, and the worker's settings recorded in the history. */
async function initialState(input: BulkAddKeysInput): Promise<BulkAddKeysState> {
  const { memo, startTime } = workflowInfo();
  const createdAt = typeof memo?.[MEMO_CREATED_AT] === 'string' ? memo[MEMO_CREATED_AT] : startTime.toISOString();
  return {
    lockId: input.lockId,
    orgId: input.orgId,
    requestedBy: input.requestedBy,
    keys: input.keys.map((key) => ({ ...key, status: 'pending', attempts: 0, error: null })),
    createdAt,
    settings: await readRunSettings(),
    lockTicket: undefined,
    notBefore: 0,
    paused: false,
  };
}

/** One run over its state: the steps the loop above reads as, and the handlers that answer while it runs. */
class RunOfKeys {
  private phase: RunPhase;
  /** The ticket this run waits with in its lock's queue, until it is granted. */
  private queuedTicket: string | undefined;
  private grant: { ticket: string; notBefore: number } | undefined;
  private readonly workflowId = workflowInfo().workflowId;
  private readonly metrics = keyMetrics();
  /**
   * A local `addKey` ran in the current workflow task: its marker is recorded only when the task completes. If
   * that task failed (a signal arriving while it closes the run, a worker dying), the command would be sent
   * again on replay — after the lock was released, it could meet the next run's. So the lock is never given
   * back in the task of a local command, and the run's last key goes as a regular activity.
   */
  private localCommandUnrecorded = false;

  constructor(private readonly state: BulkAddKeysState) {
    this.phase = state.paused ? 'paused' : state.lockTicket !== undefined ? 'running' : 'queued';
    setHandler(progressQuery, () => this.progress());
    setHandler(pauseSignal, () => {
      state.paused = true;
    });
    setHandler(resumeSignal, () => {
      state.paused = false;
    });
    setHandler(lockGrantedSignal, (grant) => {
      if (grant.ticket === this.queuedTicket) this.grant = grant;
    });
    setHandler(lockHolderCheckSignal, () => undefined);
    this.report();
  }

  nextKey(): KeyProgress | undefined {
    return this.state.keys.find((key) => key.status === 'pending');
  }

  /** Gives the lock back, waits (adding nothing to the history) until resumed, then queues again. */
  async pauseUntilResumed(): Promise<void> {
    await this.giveBackLock();
    this.phase = 'paused';
    this.report();
    await condition(() => !this.state.paused);
    this.phase = 'queued';
    this.report();
  }

  /**
   * Asks the lock's mutex for the lock. An idle lock is granted in the same answer; otherwise the run waits in
   * the queue for `lockGranted`. Returns false when the run was paused while it waited (it left the queue).
   */
  async queueForLock(): Promise<boolean> {
    const ticket = uuid4();
    this.queuedTicket = ticket;
    this.grant = undefined;
    this.phase = 'queued';
    this.report();
    const answer = await acquireLock({ lockId: this.state.lockId, requesterId: this.workflowId, ticket });
    let notBefore = answer.notBefore;
    if (!answer.granted) {
      await condition(() => this.grant !== undefined || this.state.paused);
      const grant = this.grantFor(ticket);
      if (grant === undefined) {
        await releaseLock({ lockId: this.state.lockId, requesterId: this.workflowId, ticket, notBefore: 0 });
        this.queuedTicket = undefined;
        return false;
      }
      notBefore = grant.notBefore;
    }
    this.queuedTicket = undefined;
    this.state.lockTicket = ticket;
    this.state.notBefore = Math.max(this.state.notBefore, notBefore);
    this.phase = 'running';
    this.report();
    return true;
  }

  /** The previous run on this lock may have sent its last command less than a gap ago: wait out the rest. */
  async waitForGap(): Promise<void> {
    const wait = this.state.notBefore - Date.now();
    if (wait > 0) await this.sleep(wait, `gap after the previous command to lock ${this.state.lockId}`);
  }

  /** A durable sleep; the task it ends in is a new one, so every local command before it is recorded. */
  async sleep(ms: number, summary: string): Promise<void> {
    await sleep(ms, { summary });
    this.localCommandUnrecorded = false;
  }

  /** One `addKey` activity for `key`, its outcome recorded on the key; the next command waits a gap from now. */
  async send(key: KeyProgress): Promise<void> {
    key.status = 'adding';
    const last = this.state.keys.every((k) => k.status !== 'pending');
    const kind = last ? 'remote' : this.state.settings.addKey.activity;
    if (kind === 'local') this.localCommandUnrecorded = true;
    try {
      const { attempt } = await addKeyActivity(
        this.state.settings,
        kind,
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
      // Workflow time is when the lock's answer was handed to this task, so it is after the lock got the command.
      this.state.notBefore = Date.now() + this.state.settings.commandGapMs;
      if (key.status !== 'adding') this.metrics.attempts.record(key.attempts);
      this.report();
    }
  }

  /** The grant for `ticket`, if the mutex sent it (the signal handler sets it while the run waits). */
  private grantFor(ticket: string): { notBefore: number } | undefined {
    return this.grant?.ticket === ticket ? this.grant : undefined;
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
   * The end, whatever it is: unsent keys of a cancelled run are `cancelled`, the lock goes back before anything
   * else, the summary goes into the memo for listings, and the organization's webhook is announced (delivered by
   * a workflow of its own, so a slow receiver never holds the lock nor this result).
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
      await this.giveBackLock();
      upsertMemo({ [MEMO_SUMMARY]: progress.summary });
      await announceRunClosed({
        type,
        instanceId: this.workflowId,
        orgId: this.state.orgId,
        lockId: this.state.lockId,
        createdAt: this.state.createdAt,
        keys: this.state.keys,
      });
    });
    return progress;
  }

  /** Releases the lock, or leaves the queue, saying when the next command to the lock may go. */
  private async giveBackLock(): Promise<void> {
    const ticket = this.state.lockTicket ?? this.queuedTicket;
    if (ticket === undefined) return;
    if (this.localCommandUnrecorded) await this.sleep(1, 'record the last command before giving back the lock');
    await releaseLock({
      lockId: this.state.lockId,
      requesterId: this.workflowId,
      ticket,
      notBefore: this.state.notBefore,
    });
    this.state.lockTicket = undefined;
    this.queuedTicket = undefined;
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

/**
 * The `addKey` activity of one key: a local activity (it runs in the workflow task that needs it: one history
 * event, no task queue round trip) or a regular activity task. Either way one command per attempt, with the
 * retry policy spaced by at least the gap.
 */
function addKeyActivity(settings: RunSettings, kind: RunSettings['addKey']['activity'], summary: string) {
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
  return kind === 'remote'
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
