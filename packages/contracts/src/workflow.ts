/**
 * The zod-free half of the contracts: names, message definitions, failure types and the shapes workflows
 * carry. Workflow code imports this entry only (`@lockkeys/contracts/workflow`): no zod, no Node builtins.
 * Types that also describe HTTP bodies are inferred from the zod schemas in `run.ts` and re-exported here
 * as types only, so the workflow bundle never loads zod.
 */
import {
  defineSearchAttributeKey,
  SearchAttributeType,
  type QueryDefinition,
  type SignalDefinition,
  type UpdateDefinition,
} from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { KeyProgress, KeySpec, RunClosedEvent, RunSummary } from './run';

export type { KeyError, KeyProgress, KeySpec, KeyStatus, RunStatus, RunStatusBody, RunSummary } from './run';

/** Workflow type of one accepted request, as shown in the Web UI and `temporal workflow list`. */
export const BULK_ADD_KEYS_WORKFLOW = 'bulkAddKeys';
/** Workflow type of the per-lock mutex that keeps runs on one lock from interleaving. */
export const LOCK_MUTEX_WORKFLOW = 'lockMutex';
/** Workflow type that delivers one completion webhook. */
export const DELIVER_WEBHOOK_WORKFLOW = 'deliverWebhook';

/** The counter of webhook deliveries by `outcome`: attempts (delivered, failed) from the activity, `gave_up` from the workflow. */
export const WEBHOOK_DELIVERIES_METRIC = {
  name: 'lockkeys_webhook_deliveries_total',
  unit: 'deliveries',
  description: 'Webhook delivery attempts and give-ups by outcome',
} as const;
/** Workflow ID of the mutex of `lockId` (one per lock and namespace). */
export const lockMutexWorkflowId = (lockId: number) => `lock-mutex-${lockId}`;
/** Workflow ID of the webhook delivery of one run's closing (one per run: retries reuse it). */
export const webhookWorkflowId = (instanceId: string) => `webhook-${instanceId}`;
/** Default task queue (`TEMPORAL_TASK_QUEUE`). */
export const DEFAULT_TASK_QUEUE = 'lock-keys';

/**
 * The task queues of one deployment, all derived from `TEMPORAL_TASK_QUEUE`. Runs and their `addKey`
 * activities use the base queue (SPEC); the lock mutexes and the webhook deliveries have their own, so a run
 * that waits for its mutex never waits for a workflow-task slot a run holds, and a slow receiver never takes
 * an activity slot from a lock command.
 */
export function taskQueues(base: string) {
  return { runs: base, locks: `${base}.locks`, webhooks: `${base}.webhooks` } as const;
}
export type TaskQueues = ReturnType<typeof taskQueues>;

/** Search attribute (Int) every run carries, so operators can filter `LockId = 123`. */
export const LOCK_ID_SEARCH_ATTRIBUTE = 'LockId';
/** Search attribute (Keyword) every run carries: the organization that started it. */
export const ORG_ID_SEARCH_ATTRIBUTE = 'OrgId';
/** {@link LOCK_ID_SEARCH_ATTRIBUTE} as a typed key, for `typedSearchAttributes`. */
export const LOCK_ID_KEY = defineSearchAttributeKey(LOCK_ID_SEARCH_ATTRIBUTE, SearchAttributeType.INT);
/** {@link ORG_ID_SEARCH_ATTRIBUTE} as a typed key. */
export const ORG_ID_KEY = defineSearchAttributeKey(ORG_ID_SEARCH_ATTRIBUTE, SearchAttributeType.KEYWORD);

/** The search attributes of a namespace lockkeys runs in, with their types (every engine registers these). */
export const SEARCH_ATTRIBUTES = { [LOCK_ID_SEARCH_ATTRIBUTE]: 'Int', [ORG_ID_SEARCH_ATTRIBUTE]: 'Keyword' } as const;

/** Memo field: the organization that started a run (GET and cancel compare it). */
export const MEMO_ORG_ID = 'orgId';
/** Memo field: hash of the request that started a run (idempotent replays compare it). */
export const MEMO_REQUEST_HASH = 'requestHash';
/** Memo field: when the request was accepted, ISO-8601 (the run's `createdAt`, kept across continue-as-new). */
export const MEMO_CREATED_AT = 'createdAt';
/** Memo field: the run's summary, written once when it closes, so listings need no history read. */
export const MEMO_SUMMARY = 'summary';

/** Input of one `bulkAddKeys` run: one accepted HTTP request. */
export interface BulkAddKeysInput {
  lockId: number;
  /** Organization of the API key that started the run. */
  orgId: string;
  /** JWT `sub` of the caller, kept for the audit trail. */
  requestedBy: string;
  keys: KeySpec[];
}

/** Where a run stands in its lock's queue. */
export type RunPhase = 'queued' | 'running' | 'paused' | 'done';

/**
 * Everything a run knows, in one object: what it starts from after the first run and what it carries into
 * the next when it continues as new. The request is in it too, so each run's first event tells the whole story.
 */
export interface BulkAddKeysState extends Omit<BulkAddKeysInput, 'keys'> {
  keys: KeyProgress[];
  /** When the request was accepted, ISO-8601. */
  createdAt: string;
  settings: RunSettings;
  /** The lock ticket this run holds, or undefined when it holds none. */
  lockTicket: string | undefined;
  /** Workflow time (epoch ms) before which no command may go to the lock: the gap after the previous one. */
  notBefore: number;
  paused: boolean;
}

/** What a run returns when it closes, and what the progress query answers while it runs. */
export interface BulkAddKeysProgress {
  lockId: number;
  phase: RunPhase;
  createdAt: string;
  keys: KeyProgress[];
  summary: RunSummary;
}

/**
 * Worker-side settings a run uses, read once per run through a local activity so that they are recorded in
 * its history (replay stays deterministic when the worker's environment changes).
 */
export interface RunSettings {
  /** Minimum time between two commands to the same lock (`KEY_COMMAND_GAP_MS`): the workflow's sleep. */
  commandGapMs: number;
  addKey: {
    /**
     * `local` (default): a local activity, run inside the workflow task that needs it; `remote`: a regular
     * activity task on the runs' queue. Recorded per run, so changing it never breaks the replay of older runs.
     */
    activity: 'local' | 'remote';
    /** First retry delay; never below `commandGapMs`. */
    initialIntervalMs: number;
    backoffCoefficient: number;
    maximumIntervalMs: number;
    maximumAttempts: number;
    /** Bound of one command to the lock, response included. */
    startToCloseTimeoutMs: number;
    /** Bound of all attempts of one key. */
    scheduleToCloseTimeoutMs: number;
  };
  /** Keys per workflow run before continue-as-new (also when the server suggests it sooner). */
  maxKeysPerRun: number;
  /** How often the lock mutex checks that the run holding the lock still exists. */
  lockHolderCheckIntervalMs: number;
  /** How long an idle lock mutex stays open waiting for the next run (at least the gap). */
  lockMutexIdleMs: number;
  webhook: {
    /** How long a delivery is retried before it is given up (`WEBHOOK_RETRY_HOURS`). */
    retryWindowMs: number;
    /** Bound of one delivery attempt (`WEBHOOK_TIMEOUT_MS`). */
    attemptTimeoutMs: number;
  };
}

/** A run's place at its lock's mutex: the run and one attempt of it to get the lock. */
export interface LockTicket {
  /** Workflow ID of the run. */
  requesterId: string;
  /** New for each time the run asks (again, after a pause): a grant meant for an older ask is ignored. */
  ticket: string;
}

/** The mutex's answer to `acquireLock`. */
export interface LockAnswer {
  /** The lock is the run's now; otherwise it is queued and gets {@link lockGrantedSignal}. */
  granted: boolean;
  /** Workflow time (epoch ms) before which the run may not send its first command. */
  notBefore: number;
}

/** What the lock mutex carries into its next run. */
export interface LockMutexState {
  lockId: number;
  queue: LockTicket[];
  holder: LockTicket | undefined;
  /** Workflow time (epoch ms) before which the next holder may not send (gap after the last command). */
  notBefore: number;
  settings: RunSettings | undefined;
}

/** A run asks for the lock (sent as update-with-start, so the mutex is started when none runs). */
export const acquireLockUpdate: UpdateDefinition<LockAnswer, [LockTicket]> = defineUpdate('acquireLock');
/** A run gives the lock back (or leaves the queue), saying when the next command may go. */
export const releaseLockSignal: SignalDefinition<[LockTicket & { notBefore: number }]> = defineSignal('releaseLock');
/** The mutex tells a queued run it holds the lock now. */
export const lockGrantedSignal: SignalDefinition<[{ ticket: string; notBefore: number }]> = defineSignal('lockGranted');
/** The mutex checks that the holder still exists (signalling a closed run fails). */
export const lockHolderCheckSignal: SignalDefinition<[]> = defineSignal('lockHolderCheck');

/** Pause a run: the command at the lock finishes, nothing more is sent, the lock goes to the next run. */
export const pauseSignal: SignalDefinition<[]> = defineSignal('pause');
/** Resume a paused run: it queues for its lock again and goes on with its next pending key. */
export const resumeSignal: SignalDefinition<[]> = defineSignal('resume');

/** Progress of a run, readable while it goes on. */
export const progressQuery: QueryDefinition<BulkAddKeysProgress, []> = defineQuery('progress');

/** What `addKey` sends: one key to one lock. */
export interface AddKeyInput {
  lockId: number;
  key: KeySpec;
}

/** What `addKey` reports when the lock holds the key. */
export interface AddKeyResult {
  /** `created`: the lock answered 201; `alreadyPresent`: 200, the key was already in the slot (a retry). */
  outcome: 'created' | 'alreadyPresent';
  /** Commands sent for this key, this one included. */
  attempt: number;
}

/** Details every `addKey` failure carries, so the workflow can count attempts even for failed keys. */
export interface AddKeyFailureDetails {
  attempt: number;
  httpStatus: number | null;
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

/** Why a key ended `failed` when the run, not the lock, decided it. */
export const RunFailureType = {
  /** `addKey` ran out of its time budget. */
  Timeout: 'Timeout',
  /** The run was terminated while the key's command was at the lock: its outcome is unknown. */
  RunTerminated: 'RunTerminated',
} as const;

/** Why a webhook delivery attempt failed. */
export const WebhookFailureType = {
  /** The organization has no webhook endpoint (any more): nothing to deliver. */
  NoEndpoint: 'WebhookNoEndpoint',
  /** The receiver answered, but not 2xx (a redirect included: redirects are not followed). */
  Rejected: 'WebhookRejected',
  /** No answer in time, or the connection failed. */
  Unreachable: 'WebhookUnreachable',
} as const;

/** The closing of a run, as announced to the organization's webhook. */
export type RunClosedEventType = RunClosedEvent['type'];

/** Input of a `deliverWebhook` workflow: one event for one organization. */
export interface DeliverWebhookInput {
  orgId: string;
  /** `webhook-id` of every attempt (the same on retries). */
  webhookId: string;
  /** The JSON body, exactly as it is signed and sent. */
  payload: string;
}

/** Input of the first run of a lock's mutex. */
export interface LockMutexInput {
  lockId: number;
}

/** How a webhook delivery ended. */
export interface DeliverWebhookResult {
  delivered: boolean;
  attempts: number;
}

// The workflows' signatures, so that clients and activities start them typed without importing workflow code
// (packages/workflows checks at compile time that its functions have these types).
export type BulkAddKeysWorkflow = (start: BulkAddKeysInput | BulkAddKeysState) => Promise<BulkAddKeysProgress>;
export type LockMutexWorkflow = (start: LockMutexInput | LockMutexState) => Promise<void>;
export type DeliverWebhookWorkflow = (input: DeliverWebhookInput) => Promise<DeliverWebhookResult>;

/** Each key as the API reports it: exactly its fields, whatever else the objects carry. */
export function keyOutcomes(keys: readonly KeyProgress[]): KeyProgress[] {
  return keys.map(({ keyUuid, keyIndexNumber, userId, status, attempts, error }) => ({
    keyUuid,
    keyIndexNumber,
    userId,
    status,
    attempts,
    error,
  }));
}

/** Counts of a key list by status; `adding` counts as pending. */
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
