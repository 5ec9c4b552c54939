import { randomBytes } from 'node:crypto';
import type { FaultSettings, FaultUpdate, FaultView } from '@lockkeys/contracts';
import seedrandom from 'seedrandom';

/** What goes wrong with one command, drawn before it is decided. */
export interface FaultPlan {
  /** Delay before the command is decided, in ms. */
  delayMs: number;
  /** Answer `503` as an injected failure. */
  fail: boolean;
  /** Apply and journal the command, but never send its reply. */
  drop: boolean;
}

/** Fault injection state of a running simulator, with its seeded random sequence. */
export interface FaultInjector {
  view(): FaultView;
  /** Applies a validated update and returns the settings now in force. */
  update(change: FaultUpdate): FaultView;
  isOffline(lockId: number): boolean;
  /** Draws the faults of the next command; always three draws, so a seed replays the same sequence. */
  planCommand(): FaultPlan;
}

const randomSeed = (): string => randomBytes(8).toString('hex');

/** Creates the fault injector; an unset `seed` is replaced by a random one (shown by `view()`). */
export function createFaultInjector(initial: FaultSettings): FaultInjector {
  let settings: FaultView = { ...initial, offlineLocks: [...initial.offlineLocks], seed: initial.seed ?? randomSeed() };
  let offline = new Set(settings.offlineLocks);
  let random = seedrandom(settings.seed);

  const view = (): FaultView => ({ ...settings, offlineLocks: [...settings.offlineLocks] });

  return {
    view,
    update: (change) => {
      const { seed, offlineLocks, ...rates } = change;
      const defined = Object.fromEntries(Object.entries(rates).filter(([, value]) => value !== undefined));
      settings = { ...settings, ...defined };
      if (offlineLocks !== undefined) {
        offline = new Set(offlineLocks);
        settings.offlineLocks = [...offline];
      }
      if (seed !== undefined) {
        settings.seed = seed === null ? randomSeed() : String(seed);
        random = seedrandom(settings.seed);
      }
      return view();
    },
    isOffline: (lockId) => offline.has(lockId),
    planCommand: () => {
      const fail = random() < settings.failureRate;
      const slow = random() < settings.slowRate;
      const drop = random() < settings.dropRate;
      return { delayMs: slow ? settings.latencyMs : 0, fail, drop };
    },
  };
}
