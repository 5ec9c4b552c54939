import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '@lockkeys/activities';
import {
  acquireLockUpdate,
  lockGrantedSignal,
  lockHolderCheckSignal,
  releaseLockSignal,
  type LockMutexInput,
  type LockMutexState,
  type LockTicket,
  type RunSettings,
} from '@lockkeys/contracts/workflow';
import { LockQueue } from './lock-queue';

const { readRunSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds' });

/**
 * One per lock: grants the lock to one `bulkAddKeys` run at a time, in the order they asked, and hands each
 * holder the time before which it may not send (the gap after the previous holder's last command). Runs ask
 * with update-with-start, so an idle lock is granted in the answer itself; queued runs get `lockGranted`.
 * A holder that vanished (terminated) is noticed by a periodic signal that fails, and the lock moves on.
 * Ends after being idle for a while (never before the gap is over); the next ask starts a fresh one.
 */
export async function lockMutex(start: LockMutexInput | LockMutexState): Promise<void> {
  const state: LockMutexState =
    'queue' in start
      ? start
      : { lockId: start.lockId, queue: [], holder: undefined, notBefore: 0, settings: undefined };
  const lock = new LockQueue(state);
  setHandler(acquireLockUpdate, (ticket) => lock.admit(ticket));
  setHandler(releaseLockSignal, ({ ticket, notBefore }) => lock.release(ticket, notBefore));
  const settings = (state.settings ??= await readRunSettings());

  for (;;) {
    const holder = lock.holder;
    if (holder !== undefined) {
      await watchHolder(lock, holder, settings);
    } else if (lock.waiting > 0) {
      await grantNext(lock);
    } else {
      const idleMs = Math.max(settings.lockMutexIdleMs, state.notBefore - Date.now());
      const asked = await condition(() => lock.holder !== undefined || lock.waiting > 0, idleMs, {
        summary: 'idle: waiting for a run',
      });
      if (!asked && allHandlersFinished()) return;
    }
    if (workflowInfo().continueAsNewSuggested && allHandlersFinished()) {
      await continueAsNew<typeof lockMutex>(state);
    }
  }
}

/** Tells the first waiting run it holds the lock now (it was made the holder before the signal goes out). */
async function grantNext(lock: LockQueue): Promise<void> {
  const next = lock.grantNext()!;
  try {
    await getExternalWorkflowHandle(next.requesterId).signal(lockGrantedSignal, {
      ticket: next.ticket,
      notBefore: lock.state.notBefore,
    });
  } catch {
    lock.forget(next); // the run is gone: next one
  }
}

/** Waits for `holder` to release; every check interval, makes sure it still exists. */
async function watchHolder(lock: LockQueue, holder: LockTicket, settings: RunSettings): Promise<void> {
  const released = await condition(() => lock.holder?.ticket !== holder.ticket, settings.lockHolderCheckIntervalMs, {
    summary: `held by ${holder.requesterId}`,
  });
  if (released) return;
  try {
    await getExternalWorkflowHandle(holder.requesterId).signal(lockHolderCheckSignal);
  } catch {
    // Signalling a closed run fails: it ended without releasing (terminated). Its last command may still be at
    // the lock until the activity's timeout, so the next holder waits that out, plus the gap.
    lock.forget(holder, Date.now() + settings.addKey.startToCloseTimeoutMs + settings.commandGapMs);
  }
}
