import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '@lockkeys/activities';
import {
  acquireLockSignal,
  lockGrantedSignal,
  lockHolderCheckSignal,
  releaseLockSignal,
  type LockMutexState,
} from '@lockkeys/contracts/workflow';

const { readRunSettings } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 seconds' });

export interface LockMutexInput {
  lockId: number;
}

/**
 * One per lock: grants the lock to one `bulkAddKeys` run at a time, in the order they asked, and keeps
 * the command gap between the last command of one run and the first of the next. A holder that vanished
 * (terminated, deleted) is noticed by a periodic signal that fails, and the lock moves on.
 * Ends after being idle for a while; the next run's signal-with-start opens a fresh one.
 */
export async function lockMutex({ lockId }: LockMutexInput, carried?: LockMutexState): Promise<void> {
  const state: LockMutexState = carried ?? { queue: [], holder: undefined, releasedAt: undefined, settings: undefined };
  setHandler(acquireLockSignal, ({ requesterId }) => {
    if (state.holder !== requesterId && !state.queue.includes(requesterId)) state.queue.push(requesterId);
  });
  setHandler(releaseLockSignal, ({ requesterId }) => {
    if (state.holder === requesterId) {
      state.holder = undefined;
      state.releasedAt = Date.now();
    } else {
      // A run that gave up (cancelled) before its turn leaves the queue.
      state.queue = state.queue.filter((id) => id !== requesterId);
    }
  });
  const settings = (state.settings ??= await readRunSettings());

  for (;;) {
    if (state.holder === undefined) {
      const someoneWaits = await condition(() => state.queue.length > 0, settings.lockMutexIdleMs, {
        summary: 'idle: waiting for a run',
      });
      if (!someoneWaits) {
        await condition(allHandlersFinished);
        if (state.queue.length === 0) return;
      }
      if (workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof lockMutex>({ lockId }, state);
      }
      const next = state.queue.shift()!;
      const wait = state.releasedAt === undefined ? 0 : state.releasedAt + settings.commandGapMs - Date.now();
      if (wait > 0) await sleep(wait, { summary: 'gap after the previous run' });
      try {
        await getExternalWorkflowHandle(next).signal(lockGrantedSignal, { lockId });
        state.holder = next;
      } catch {
        continue; // the run is gone: next one
      }
    }
    const released = await condition(() => state.holder === undefined, settings.lockHolderCheckIntervalMs, {
      summary: `held by ${state.holder}`,
    });
    if (!released && state.holder !== undefined) {
      try {
        await getExternalWorkflowHandle(state.holder).signal(lockHolderCheckSignal);
      } catch {
        // Signalling a closed run fails: it ended without releasing (terminated). Its last command may still
        // be at the lock until the activity's timeout, so the next grant counts the gap from there.
        state.holder = undefined;
        state.releasedAt = Date.now() + settings.addKey.startToCloseTimeoutMs;
      }
    }
  }
}
