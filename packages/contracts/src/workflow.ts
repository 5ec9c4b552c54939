/**
 * The zod-free half of the contracts: names, types and error types that workflow code may import
 * (the workflow bundle must stay small and free of Node builtins).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** Workflow type name, as shown in the Web UI and `temporal workflow list`. */
export const BULK_ADD_KEYS_WORKFLOW = 'bulkAddKeys';
/** Workflow type of the per-lock mutex that keeps runs on one lock from interleaving. */
export const LOCK_MUTEX_WORKFLOW = 'lockMutex';
/** Workflow ID of the mutex of `lockId` (one per lock and namespace). */
export const lockMutexWorkflowId = (lockId: number) => `lock-mutex-${lockId}`;
/** Default task queue (`TEMPORAL_TASK_QUEUE`). */
export const DEFAULT_TASK_QUEUE = 'lock-keys';
/** Search attribute (Int) every run carries, so operators can filter `LockId = 123`. */
export const LOCK_ID_SEARCH_ATTRIBUTE = 'LockId';

/** One key as the client sent it. */
export interface KeySpec {
  keyUuid: string;
  keyIndexNumber: number;
  userId: string;
}

/** Input of one `bulkAddKeys` run: one accepted HTTP request. */
export interface BulkAddKeysInput {
  lockId: number;
  /** Organization of the API key that started the run; GET and cancel check it. */
  orgId: string;
  /** JWT `sub` of the caller, kept for the audit trail. */
  requestedBy: string;
  keys: KeySpec[];
}

export type KeyStatus = 'pending' | 'adding' | 'added' | 'failed' | 'cancelled';

export interface KeyError {
  /** One of {@link LockBackendFailureType}, or the failure's own type name. */
  type: string;
  message: string;
}

/** Where one key stands; the workflow keeps one per key, in request order. */
export interface KeyProgress extends KeySpec {
  status: KeyStatus;
  /** Commands sent to the lock for this key so far (retries included). */
  attempts: number;
  error: KeyError | null;
}

export interface RunSummary {
  total: number;
  added: number;
  failed: number;
  pending: number;
  cancelled: number;
}

/** What a run returns when it closes, and what the progress query answers while it runs. */
export interface BulkAddKeysProgress {
  lockId: number;
  /** `waitingForLock` while another run holds the lock; `sending` while commands go out; then `done`. */
  phase: RunPhase;
  /** When the first run of this workflow started (continue-as-new keeps it), ISO-8601. */
  createdAt: string;
  keys: KeyProgress[];
  summary: RunSummary;
}

export type RunPhase = 'waitingForLock' | 'sending' | 'done';

/**
 * Worker-side settings a run uses, read once per run through a local activity so that they are
 * recorded in its history (replay stays deterministic when the worker's environment changes).
 */
export interface RunSettings {
  /** Minimum time between two commands to the same lock (`KEY_COMMAND_GAP_MS`). */
  commandGapMs: number;
  addKey: {
    /** First retry delay; never below `commandGapMs`. */
    initialIntervalMs: number;
    backoffCoefficient: number;
    maximumIntervalMs: number;
    maximumAttempts: number;
    /** Bound of one command to the lock, response included (`LOCK_BACKEND_TIMEOUT_MS` + 1 s; no gap in it). */
    startToCloseTimeoutMs: number;
    /** Bound of all attempts of one key. */
    scheduleToCloseTimeoutMs: number;
  };
  /** Keys per workflow run before continue-as-new (also when the server suggests it sooner). */
  maxKeysPerRun: number;
  /** How often the lock mutex checks that the run holding the lock still exists. */
  lockHolderCheckIntervalMs: number;
  /** How long an idle lock mutex stays open waiting for the next run. */
  lockMutexIdleMs: number;
  /** Delivery of the completion webhook. */
  webhook: {
    /** How long a failing delivery is retried (`WEBHOOK_RETRY_HOURS`). */
    retryWindowMs: number;
    /** Bound of one delivery attempt (`WEBHOOK_TIMEOUT_MS`). */
    attemptTimeoutMs: number;
  };
}

/** What one run carries into the next when it continues as new. */
export interface BulkAddKeysCarriedState {
  keys: KeyProgress[];
  settings: RunSettings;
  createdAt: string;
  /** The run holds the lock mutex already. */
  holdsLock: boolean;
  /** Whether a command has been sent (the next one waits for the gap). */
  commandSent: boolean;
  /** The last command sent, for the activity-side gap. */
  lastCommand?: AnsweredCommand;
}

/** What the lock mutex carries into its next run. */
export interface LockMutexState {
  queue: string[];
  holder: string | undefined;
  /** Workflow time (epoch ms) when the last holder released; the next grant waits for the gap after it. */
  releasedAt: number | undefined;
  settings: RunSettings | undefined;
}

/** A run asks the lock mutex for the lock (sent with signal-with-start). */
export const acquireLockSignal = defineSignal<[{ requesterId: string }]>('acquireLock');
/** A run gives the lock back (or leaves the queue) when it is done, failed or cancelled. */
export const releaseLockSignal = defineSignal<[{ requesterId: string }]>('releaseLock');
/** The mutex tells a run it holds the lock. */
export const lockGrantedSignal = defineSignal<[{ lockId: number }]>('lockGranted');
/** The mutex checks that the holder still exists (signalling a closed run fails). */
export const lockHolderCheckSignal = defineSignal('lockHolderCheck');

/** What `addKey` reports when the lock holds the key. */
export interface AddKeyResult extends AnsweredCommand {
  /** `created`: the lock answered 201; `alreadyPresent`: 200, the key was already in the slot (a retry). */
  outcome: 'created' | 'alreadyPresent';
  attempt: number;
}

/**
 * When, and on which worker process, the lock's answer to a command arrived. The next `addKey` waits for
 * the rest of the gap itself: on the same process's clock, or a full gap when another process got it.
 * Counting from the answer, not from the send, keeps the gap at the lock whatever the network's jitter:
 * the lock received the previous command before it answered.
 */
export interface AnsweredCommand {
  /** Epoch ms on that process's monotonic clock; null when no answer came (timeout, connection lost). */
  answeredAt: number | null;
  /** Identity of the worker process. */
  answeredBy: string | null;
}

/** What `addKey` needs to keep the gap after the previous command of the run. */
export interface CommandGap {
  commandGapMs: number;
  /** Added to a same-process wait, for network jitter between sender and lock. */
  marginMs?: number;
  /** The run's previous command; absent for the first command (the lock's mutex kept the gap to other runs). */
  previous?: AnsweredCommand;
}

/** Typed names of the failures `addKey` throws, from the lock backend's answers. */
export const LockBackendFailureType = {
  /** 404: the lock is unknown. Final. */
  LockNotFound: 'LockNotFound',
  /** 409: the slot holds another key. Final. */
  SlotOccupied: 'SlotOccupied',
  /** 422: the index is outside the lock's range. Final. */
  KeyIndexOutOfRange: 'KeyIndexOutOfRange',
  /** 429: command too soon after the previous one. Retried. */
  LockBusy: 'LockBusy',
  /** 503: the lock is offline. Retried. */
  LockOffline: 'LockOffline',
  /** Other 5xx or an unexpected answer. Retried. */
  LockBackendError: 'LockBackendError',
  /** No answer in time, or the connection failed. Retried. */
  LockBackendUnreachable: 'LockBackendUnreachable',
} as const;
export type LockBackendFailureType = (typeof LockBackendFailureType)[keyof typeof LockBackendFailureType];

/** Failure types that no retry can fix. */
export const FINAL_LOCK_BACKEND_FAILURES: readonly string[] = [
  LockBackendFailureType.LockNotFound,
  LockBackendFailureType.SlotOccupied,
  LockBackendFailureType.KeyIndexOutOfRange,
];

/** Details every `addKey` failure carries, so the workflow can count attempts even for failed keys. */
export interface AddKeyFailureDetails extends AnsweredCommand {
  attempt: number;
  httpStatus: number | null;
}

/** Progress of a run, readable while it goes on. */
export const progressQuery = defineQuery<BulkAddKeysProgress>('progress');

/** Counts of a key list by status. */
export function summarize(keys: readonly KeyProgress[]): RunSummary {
  const summary: RunSummary = { total: keys.length, added: 0, failed: 0, pending: 0, cancelled: 0 };
  for (const key of keys) {
    if (key.status === 'added') summary.added++;
    else if (key.status === 'failed') summary.failed++;
    else if (key.status === 'cancelled') summary.cancelled++;
    else summary.pending++;
  }
  return summary;
}
