import { LockBackendError, type LockBackend, type PutKeyOutcome } from '@lockkeys/activities';
import { LockBackendFailureType, type KeySpec } from '@lockkeys/contracts';

/** One command the fake lock received. */
export interface ReceivedCommand {
  at: number;
  lockId: number;
  key: KeySpec;
}

/** What the fake lock answers to one command: an outcome or a failure type. */
export type ScriptedAnswer = PutKeyOutcome | LockBackendFailureType;

const STATUS: Partial<Record<LockBackendFailureType, number>> = {
  LockNotFound: 404,
  SlotOccupied: 409,
  KeyIndexOutOfRange: 422,
  LockBusy: 429,
  LockOffline: 503,
};

/**
 * An in-memory lock backend for workflow tests: records every command with its time and answers from a
 * per-keyUuid script (then `created`).
 */
export class ScriptedLockBackend implements LockBackend {
  readonly commands: ReceivedCommand[] = [];
  private readonly scripts = new Map<string, ScriptedAnswer[]>();

  /** @param latencyMs how long each command takes at the lock (a slow hub). */
  constructor(public latencyMs = 0) {}

  /** The next answers for `keyUuid`, in order; afterwards it answers `created`. */
  script(keyUuid: string, ...answers: ScriptedAnswer[]): this {
    this.scripts.set(keyUuid, answers);
    return this;
  }

  async putKey(lockId: number, key: KeySpec): Promise<PutKeyOutcome> {
    this.commands.push({ at: Date.now(), lockId, key });
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const answer = this.scripts.get(key.keyUuid)?.shift() ?? 'created';
    if (answer === 'created' || answer === 'alreadyPresent') return answer;
    throw new LockBackendError(answer, `scripted ${answer}`, STATUS[answer] ?? 500);
  }
}

/** Milliseconds between consecutive commands. */
export function gapsBetween(commands: readonly ReceivedCommand[]): number[] {
  return commands.slice(1).map((command, i) => command.at - commands[i]!.at);
}

export { LockBackendFailureType };
