import { setTimeout as sleep } from 'node:timers/promises';
import type { LockSlot } from '@lockkeys/contracts';
import { type FaultInjector } from './faults';
import { type LockStore } from './store';

/** One `PUT /locks/{lockId}/keys/{keyIndexNumber}` command that passed validation. */
export interface AddKeyCommand {
  lockId: number;
  keyIndexNumber: number;
  keyUuid: string;
  userId: string;
  /** Epoch ms when the command was received. */
  receivedAt: number;
}

/** What a simulated lock decided for one command. */
export type AddKeyDecision =
  | { status: 201 | 200; key: LockSlot }
  | { status: 404 | 409 | 422 | 429 | 503; message: string; retryAfterSeconds?: number };

/** How a simulated lock answered one command; `dropped` means the reply must never be sent. */
export type AddKeyOutcome = AddKeyDecision & { dropped: boolean };

/** The simulated lock hardware: decides and journals every command sent to a lock. */
export interface SimulatedLocks {
  /** Known locks are `1..lockCount`. */
  isKnown(lockId: number): boolean;
  addKey(command: AddKeyCommand): Promise<AddKeyOutcome>;
}

/** Limits of the simulated hardware. */
export interface LockLimits {
  lockCount: number;
  slotCount: number;
  minGapMs: number;
}

/** Creates the simulated locks over `store`, with faults drawn from `faults`. */
export function createSimulatedLocks(deps: {
  store: LockStore;
  faults: FaultInjector;
  limits: LockLimits;
}): SimulatedLocks {
  const { store, faults, limits } = deps;
  const isKnown = (lockId: number): boolean => lockId >= 1 && lockId <= limits.lockCount;

  // Order is SPEC's: unknown lock, offline/failure, too soon, index range, slot state.
  const decide = (command: AddKeyCommand, injectedFailure: boolean): AddKeyDecision => {
    const { lockId, keyIndexNumber, keyUuid, receivedAt } = command;
    if (!isKnown(lockId)) return { status: 404, message: `Lock ${lockId} does not exist` };
    if (faults.isOffline(lockId)) return { status: 503, message: `Lock ${lockId} is offline` };
    if (injectedFailure) return { status: 503, message: `Lock ${lockId} did not answer (injected failure)` };
    const previousAt = store.latestCommandAt(lockId);
    if (previousAt !== undefined && receivedAt - previousAt < limits.minGapMs) {
      const waitMs = previousAt + limits.minGapMs - receivedAt;
      return {
        status: 429,
        message: `Lock ${lockId} needs ${limits.minGapMs} ms between commands; the previous one came ${receivedAt - previousAt} ms earlier`,
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      };
    }
    if (keyIndexNumber < 0 || keyIndexNumber >= limits.slotCount) {
      return { status: 422, message: `keyIndexNumber must be from 0 to ${limits.slotCount - 1} on lock ${lockId}` };
    }
    const existing = store.findKey(lockId, keyIndexNumber);
    if (!existing) {
      const key: LockSlot = { keyIndexNumber, keyUuid, userId: command.userId, addedAt: receivedAt };
      store.insertKey(lockId, key);
      return { status: 201, key };
    }
    if (existing.keyUuid === keyUuid) return { status: 200, key: existing };
    return { status: 409, message: `Slot ${keyIndexNumber} of lock ${lockId} holds another key` };
  };

  return {
    isKnown,
    addKey: async (command) => {
      const plan = faults.planCommand();
      // A slow hub delays the decision, not the receive time the journal records.
      if (plan.delayMs > 0) await sleep(plan.delayMs);
      const decision = store.transaction(() => {
        const decided = decide(command, plan.fail);
        store.appendCommand({
          lockId: command.lockId,
          at: command.receivedAt,
          keyIndexNumber: command.keyIndexNumber,
          keyUuid: command.keyUuid,
          status: decided.status,
          dropped: plan.drop,
        });
        return decided;
      });
      return { ...decision, dropped: plan.drop };
    },
  };
}
