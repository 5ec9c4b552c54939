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
  const state: LockQueueState = 'entries' in start ? start : { lockId: start.lockId, entries: [], notBefore: 0 };
  const book = new LockBook(state);
  let admissions = 0;
  let emptySince = book.isEmpty ? Date.now() : undefined;
  const left = (entry: LockEntry | undefined) => {
    if (entry !== undefined && book.isEmpty) emptySince = Date.now();
  };

  // Registered at once: an update that finds no handler when the first activation ends is refused.
  setHandler(
    admitRunUpdate,
    (request): AdmissionAnswer => {
      const entry = book.admit(request, uuid4());
      if (entry.nonce === request.nonce) admissions++;
      emptySince = undefined;
      const holding = entry.place === 'holding';
      return {
        requestHash: entry.requestHash,
        nonce: entry.nonce,
        lock: { ticket: entry.place === 'paused' ? undefined : entry.ticket, holding },
        notBefore: book.notBefore,
        ahead: book.ahead(entry),
      };
    },
    { validator: (request) => refuseIfNeeded(book, request) },
  );
  const settings = await readRunSettings();
  /** The earliest next command after a run that just gave the lock back: it was told the lock's answer already. */
  const afterGap = () => Date.now() + settings.commandGapMs;
  /** After a run that vanished: its last command may still be at the lock until the command's timeout. */
  const afterCommandInDoubt = () => afterGap() + settings.addKey.startToCloseTimeoutMs;

  // Signals wait for their handlers: these need the settings.
  setHandler(runPausedSignal, ({ instanceId, ticket }) => book.pause(instanceId, ticket, afterGap()));
  setHandler(runResumedSignal, ({ instanceId, ticket }) => {
    book.resume({ instanceId, ticket, startBy: 0, requestHash: '', nonce: '' });
    emptySince = undefined;
  });
  setHandler(runClosedSignal, ({ instanceId }) => left(book.remove(instanceId, afterGap())));

  /** Tells the new holder; retries while its run may still be starting, frees the place once it cannot be. */
  async function tell(entry: LockEntry): Promise<void> {
    for (let backoffMs = 100; book.holder === entry; backoffMs = Math.min(backoffMs * 2, 5_000)) {
      try {
        await getExternalWorkflowHandle(entry.instanceId).signal(lockGrantedSignal, {
          ticket: entry.ticket,
          notBefore: book.notBefore,
        });
        return;
      } catch {
        // Not started yet (its gateway is between the two steps), or gone (terminated): it never sent a command.
        if (Date.now() > entry.startBy + settings.lockStartMarginMs) return left(book.remove(entry.instanceId, 0));
      }
      await sleep(backoffMs, { summary: `${entry.instanceId} is not there yet` });
    }
  }

  /**
   * Looks up every run in the book: a terminated one (it never says it closed) is freed, with the time its last
   * command may still take; one that closed without being heard of is freed; one still missing after its start
   * window never comes (its gateway died between admission and start).
   */
  async function lookUpPlaces(): Promise<void> {
    if (book.isEmpty) return;
    const found = await lookUpRuns(book.entries.map((entry) => entry.instanceId));
    const now = Date.now();
    for (const entry of [...book.entries]) {
      const where = found[entry.instanceId];
      if (where === 'vanished') left(book.remove(entry.instanceId, afterCommandInDoubt()));
      if (where === 'closed') left(book.remove(entry.instanceId, afterGap()));
      if (where === 'missing' && now > entry.startBy + settings.lockStartMarginMs)
        left(book.remove(entry.instanceId, 0));
    }
  }

  // One timer at a time, whatever happens: a run's admission and close cost it nothing.
  const reviewEveryMs = Math.max(
    settings.commandGapMs,
    Math.min(settings.lockHolderCheckIntervalMs, settings.lockIdleMs),
  );
  let reviewDue = false;
  const armReview = () =>
    void sleep(reviewEveryMs, { summary: 'review the places' }).then(
      () => (reviewDue = true),
      () => undefined,
    );
  armReview();
  const wantsContinueAsNew = () => admissions >= settings.lockAdmissionsPerRun || workflowInfo().continueAsNewSuggested;

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
      const idleFor = emptySince === undefined ? 0 : Date.now() - emptySince;
      if (book.isEmpty && idleFor >= settings.lockIdleMs && Date.now() >= book.notBefore && allHandlersFinished()) {
        return;
      }
      await lookUpPlaces();
      armReview();
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
