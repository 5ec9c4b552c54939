import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  makeContinueAsNewFunc,
  getExternalWorkflowHandle,
  proxyLocalActivities,
  setHandler,
  sleep,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '@lockkeys/activities';
import {
  AdmissionRefusal,
  admitRunUpdate,
  LOCK_WORKFLOW_TASK_TIMEOUT_MS,
  lockGrantedSignal,
  runClosedSignal,
  runPausedSignal,
  runResumedSignal,
  type AdmissionAnswer,
  type AdmissionRequest,
  type LockEntry,
  type LockQueueInput,
  type LockQueueState,
  type RunSettings,
} from '@lockkeys/contracts/workflow';
import { LockBook } from './lock-book';

const { readRunSettings, lookUpRuns } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds' });

/**
 * One per lock, the point where its runs are admitted: a POST is one `admitRun` update-with-start here. The
 * validator refuses a full lock (nothing recorded, nothing started); the handler gives the run its place at
 * acceptance — the lock at once when it is free, else the end of the queue — and the gateway then starts the run
 * with that place. Runs take the lock strictly in acceptance order: each queued run is told by `lockGranted`, with
 * the time before which it may not send (the gap after the previous holder's last command, counted from when the
 * lock heard of it, so never too short). Runs say when they pause, resume and close; a place whose run never
 * started (its gateway died between the two steps) or vanished (terminated) is found by a periodic look-up and
 * freed. Carries its book across continue-as-new; ends when it has been empty for a while.
 */
export async function lockQueue(start: LockQueueInput | LockQueueState): Promise<void> {
  const state: LockQueueState =
    'entries' in start ? start : { lockId: start.lockId, entries: [], timing: { releasedAt: 0, notBefore: 0 } };
  const book = new LockBook(state);
  let emptySince = book.isEmpty ? Date.now() : undefined;
  const left = (entry: LockEntry | undefined) => {
    if (entry !== undefined && book.isEmpty) emptySince = Date.now();
  };

  // Nothing here needs the worker's settings: an admission's task does no more than the admission itself (it is what
  // a POST waits for). The settings are read at the first review.
  setHandler(
    admitRunUpdate,
    (request): AdmissionAnswer => {
      const entry = book.admit(request, uuid4());
      emptySince = undefined;
      return {
        requestHash: entry.requestHash,
        nonce: entry.nonce,
        lock: { ticket: entry.place === 'paused' ? undefined : entry.ticket, holding: entry.place === 'holding' },
        timing: book.timing,
        ahead: book.ahead(entry),
      };
    },
    { validator: (request) => refuseIfNeeded(book, request) },
  );
  setHandler(runPausedSignal, ({ instanceId, ticket }) => book.pause(instanceId, ticket, Date.now()));
  setHandler(runResumedSignal, ({ instanceId, ticket }) => {
    book.resume({ instanceId, ticket, startBy: 0, requestHash: '', nonce: '' });
    emptySince = undefined;
  });
  setHandler(runClosedSignal, ({ instanceId }) => left(book.remove(instanceId, { at: Date.now() })));

  let settings: RunSettings | undefined;
  /** Tells the new holder; retries while its run may still be starting, frees the place once it cannot be. */
  async function tell(entry: LockEntry): Promise<void> {
    for (let backoffMs = 100; book.holder === entry; backoffMs = Math.min(backoffMs * 2, 5_000)) {
      try {
        await getExternalWorkflowHandle(entry.instanceId).signal(lockGrantedSignal, {
          ticket: entry.ticket,
          timing: book.timing,
        });
        return;
      } catch {
        // Not started yet (its gateway is between the two steps), or gone (terminated): it never sent a command.
        settings ??= await readRunSettings();
        if (Date.now() > entry.startBy + settings.lockStartMarginMs)
          return left(book.remove(entry.instanceId, { notBefore: 0 }));
      }
      await sleep(backoffMs, { summary: `${entry.instanceId} is not there yet` });
    }
  }

  /**
   * Looks up every run in the book: a terminated one (it never says it closed) is freed, with the time its last
   * command may still take; one that closed without being heard of is freed; one still missing after its start
   * window never comes (its gateway died between admission and start).
   */
  async function lookUpPlaces({ commandGapMs, addKey, lockStartMarginMs }: RunSettings): Promise<void> {
    if (book.isEmpty) return;
    const found = await lookUpRuns(book.entries.map((entry) => entry.instanceId));
    const now = Date.now();
    for (const entry of [...book.entries]) {
      const where = found[entry.instanceId];
      if (where === 'vanished') {
        left(book.remove(entry.instanceId, { notBefore: now + addKey.startToCloseTimeoutMs + commandGapMs }));
      }
      if (where === 'closed') left(book.remove(entry.instanceId, { at: now }));
      if (where === 'missing' && now > entry.startBy + lockStartMarginMs) {
        left(book.remove(entry.instanceId, { notBefore: 0 }));
      }
    }
  }

  // One timer at a time, whatever happens: a run's admission and close cost it nothing. The first review comes after a
  // fixed while (the settings are not read yet); from then on, every min(LOCK_HOLDER_CHECK_MS, LOCK_IDLE_MS).
  let reviewDue = false;
  const armReview = (ms: number) =>
    void sleep(ms, { summary: 'review the places' }).then(
      () => (reviewDue = true),
      () => undefined,
    );
  armReview(FIRST_REVIEW_MS);
  // Its history grows by a dozen events a run: the server says when it is time (a few hundred runs).
  const wantsContinueAsNew = () => workflowInfo().continueAsNewSuggested;

  for (;;) {
    const next = book.grantNext();
    if (next !== undefined) {
      await tell(next);
      continue;
    }
    if (wantsContinueAsNew() && allHandlersFinished()) {
      await makeContinueAsNewFunc<typeof lockQueue>({ workflowTaskTimeout: LOCK_WORKFLOW_TASK_TIMEOUT_MS })(state);
    }
    if (reviewDue) {
      reviewDue = false;
      settings ??= await readRunSettings();
      const idleFor = emptySince === undefined ? 0 : Date.now() - emptySince;
      const quietSince = Math.max(book.timing.releasedAt + settings.commandGapMs, book.timing.notBefore);
      if (book.isEmpty && idleFor >= settings.lockIdleMs && Date.now() >= quietSince && allHandlersFinished()) {
        return;
      }
      await lookUpPlaces(settings);
      armReview(Math.max(settings.commandGapMs, Math.min(settings.lockHolderCheckIntervalMs, settings.lockIdleMs)));
      continue;
    }
    await condition(
      () =>
        reviewDue ||
        (book.holder === undefined && book.entries.some((e) => e.place === 'queued')) ||
        (wantsContinueAsNew() && allHandlersFinished()),
    );
  }
}

/** When a lock's workflow first reviews its book: before it has read the worker's settings, which set the rest. */
const FIRST_REVIEW_MS = 15_000;

/** The `admitRun` validator: a full lock and a request that came too late are refused before anything is recorded. */
function refuseIfNeeded(book: LockBook, request: AdmissionRequest): void {
  const found = book.check(request, Date.now());
  if (found.kind === 'full') {
    throw ApplicationFailure.create({
      type: AdmissionRefusal.LockFull,
      message: `lock ${book.state.lockId} already has ${found.limit} runs queued, running or paused`,
      nonRetryable: true,
    });
  }
  if (found.kind === 'expired') {
    throw ApplicationFailure.create({
      type: AdmissionRefusal.AdmissionExpired,
      message: `the request for ${request.instanceId} reached lock ${book.state.lockId} after its deadline`,
      nonRetryable: true,
    });
  }
}
