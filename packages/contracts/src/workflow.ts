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
/**
 * Workflow type of a lock's own workflow: it admits each run when the gateway accepts it (the per-lock bound) and
 * hands the lock to one run at a time, in acceptance order.
 */
export const LOCK_QUEUE_WORKFLOW = 'lockQueue';
/** Workflow type that delivers one organization's completion webhooks, in order, as one endpoint. */
export const WEBHOOK_ENDPOINT_WORKFLOW = 'webhookEndpoint';

/**
 * The counter of webhook events by `outcome`: attempts `delivered` and `failed` (from the delivery activity),
 * `expired` (older than `WEBHOOK_RETRY_HOURS`, dropped by the endpoint's workflow).
 */
export const WEBHOOK_DELIVERIES_METRIC = {
  name: 'lockkeys_webhook_deliveries_total',
  unit: 'deliveries',
  description: 'Webhook delivery attempts and dropped events by outcome',
} as const;
/** Workflow ID of the queue of `lockId` (one per lock and namespace). */
export const lockQueueWorkflowId = (lockId: number) => `lock-${lockId}`;
/**
 * Workflow task timeout of a lock's workflow. Its tasks are small; the bound matters because an admission is
 * decided in one: whatever a task accepts is recorded within this time of the task's start, or not at all.
 */
export const LOCK_WORKFLOW_TASK_TIMEOUT_MS = 5_000;
/** Workflow ID of the webhook endpoint of organization `orgId` (one per organization and namespace). */
export const webhookEndpointWorkflowId = (orgId: string) => `webhooks-${orgId}`;
/** Default task queue (`TEMPORAL_TASK_QUEUE`). */
export const DEFAULT_TASK_QUEUE = 'lock-keys';

/**
 * The task queues of one deployment, all derived from `TEMPORAL_TASK_QUEUE`. Runs and their `addKey`
 * activities use the base queue (SPEC); the lock queues and the webhook deliveries have their own, so an
 * admission never waits for a workflow-task slot a run holds, and a slow receiver never takes an activity slot
 * from a lock command.
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
/** Memo field of a webhook endpoint's workflow: its {@link WebhookEndpointView}, as of its last attempt. */
export const MEMO_ENDPOINT = 'endpoint';
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

/** A run's side of its place at the lock. */
export interface RunLockState {
  /** The run's current place in its lock's queue: given at admission, new after each resume; none while paused. */
  ticket: string | undefined;
  /** The lock is the run's now: it may send (after {@link BulkAddKeysState.notBefore}). */
  holding: boolean;
}

/**
 * When the lock may take the next command, as the lock knows it: `releasedAt`, its own time when it heard the last
 * holder give it back (the run adds its gap: the lock needs no settings to admit or grant), and `notBefore`, an
 * absolute bound it set itself (after a run that vanished with a command perhaps still at the lock).
 */
export interface LockTiming {
  releasedAt: number;
  notBefore: number;
}

/** What a run starts from: the accepted request and the place its lock gave it. */
export interface BulkAddKeysStart extends BulkAddKeysInput, LockTiming {
  lock: RunLockState;
}

/**
 * Everything a run knows, in one object: what it carries into its next run when it continues as new. The request
 * is in it too, so each run's first event tells the whole story.
 */
export interface BulkAddKeysState extends Omit<BulkAddKeysInput, 'keys'> {
  keys: KeyProgress[];
  /** When the request was accepted, ISO-8601. */
  createdAt: string;
  settings: RunSettings;
  lock: RunLockState;
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
  /**
   * How often a lock's workflow looks up the runs in its book: a terminated run never says it closed, and a run whose
   * gateway died between admission and start never comes.
   */
  lockHolderCheckIntervalMs: number;
  /** How long a lock's workflow with no run stays open for the next one (at least the gap). */
  lockIdleMs: number;
  /**
   * How long past its gateway's deadline a place whose run cannot be found is kept: a start call can still be on its
   * way to the server after its gateway gave up on it. Then the place is freed (its gateway died between the steps).
   */
  lockStartMarginMs: number;
  webhook: {
    /** How long an event waits at a failing endpoint before it is dropped (`WEBHOOK_RETRY_HOURS`). */
    retryWindowMs: number;
    /** Bound of one delivery attempt (`WEBHOOK_TIMEOUT_MS`). */
    attemptTimeoutMs: number;
    /** Longest pause between two attempts at a failing endpoint (`WEBHOOK_PROBE_MS`): it is probed that often. */
    probeIntervalMs: number;
  };
}

/**
 * What a gateway asks the lock's workflow for one accepted request (the `admitRun` update). Small on purpose: the
 * keys go to the run itself, never through the lock (an update's request travels in its workflow task twice).
 */
export interface AdmissionRequest {
  /** The run's workflow ID. */
  instanceId: string;
  /** `MAX_ACTIVE_RUNS_PER_LOCK` of the gateway that asks: runs queued, running or paused on the lock. */
  maxActiveRuns: number;
  /** Epoch ms after which the lock refuses the request: by then the gateway has given up on it (503). */
  acceptBy: number;
  /** Epoch ms by which the gateway has started the run or given up; a place whose run is missing after it goes. */
  startBy: number;
  /** Hash of the request's lock and keys: a replay of an Idempotency-Key compares it. */
  requestHash: string;
  /** New for every POST: tells the POST that was admitted from a concurrent one with the same Idempotency-Key. */
  nonce: string;
}

/** The lock's answer to an admission: the run's place, to start it with. */
export interface AdmissionAnswer {
  /** The admitted request's hash and nonce (an earlier POST's, when this instanceId was admitted before). */
  requestHash: string;
  nonce: string;
  lock: RunLockState;
  /** When the run may send its first command, if it holds the lock now (it adds its gap to `releasedAt`). */
  timing: LockTiming;
  /** Runs before it at the lock (0: it holds the lock). */
  ahead: number;
}

/** Why a lock refuses an admission (the `admitRun` validator's failure types; a refusal is not recorded). */
export const AdmissionRefusal = {
  /** The lock already has `maxActiveRuns` runs queued, running or paused. */
  LockFull: 'LockFull',
  /** The lock got to the request after its `acceptBy`: the gateway has answered 503. */
  AdmissionExpired: 'AdmissionExpired',
} as const;

/** A run's place in its lock's book. */
export interface LockEntry {
  instanceId: string;
  /** The run's current ticket (see {@link RunLockState.ticket}); the one grants and releases must name. */
  ticket: string;
  place: 'holding' | 'queued' | 'paused';
  /** See {@link AdmissionRequest.startBy} (the latest, when a retried POST found the place). */
  startBy: number;
  requestHash: string;
  nonce: string;
}

/** What a lock's workflow carries into its next run. */
export interface LockQueueState {
  lockId: number;
  /** Every run queued, running or paused on the lock; the queued ones wait in this order. */
  entries: LockEntry[];
  /** See {@link LockTiming}. */
  timing: LockTiming;
}

/** Input of a lock's first workflow run. */
export interface LockQueueInput {
  lockId: number;
}

/** A gateway asks the lock to admit one run (sent as update-with-start: the lock's workflow starts if none runs). */
export const admitRunUpdate: UpdateDefinition<AdmissionAnswer, [AdmissionRequest]> = defineUpdate('admitRun');
/** A run gives the lock back or leaves the queue, keeping its slot in the bound (paused). */
export const runPausedSignal: SignalDefinition<[RunPlace]> = defineSignal('runPaused');
/** A paused run queues again, at the end, with a new ticket. */
export const runResumedSignal: SignalDefinition<[RunPlace]> = defineSignal('runResumed');
/** A run closed (or a gateway withdraws a place whose run could not start): its slot and the lock are free. */
export const runClosedSignal: SignalDefinition<[{ instanceId: string }]> = defineSignal('runClosed');
/** The lock tells a queued run it holds the lock now, and when it may send its first command. */
export const lockGrantedSignal: SignalDefinition<[{ ticket: string; timing: LockTiming }]> =
  defineSignal('lockGranted');
/**
 * Where a run a lock holds a place for stands: `open`; `closed` (it ended on its own); `vanished` (terminated or timed
 * out: its last command may still be at the lock); `missing` (never started, or its gateway has not started it yet).
 */
export type RunWhereabouts = 'open' | 'closed' | 'vanished' | 'missing';

/** A run and its ticket, as runs name themselves to their lock. */
export interface RunPlace {
  instanceId: string;
  ticket: string;
}

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

/**
 * One event waiting at an endpoint: which run closed how. Small on purpose — its body is the run's status as
 * Temporal keeps it, read when the event goes out, so an endpoint's backlog costs bytes per event, not per key.
 */
export interface WebhookEvent {
  /** `webhook-id` of every attempt: derived from the run and its closing, the same however often it is announced. */
  webhookId: string;
  instanceId: string;
  type: RunClosedEventType;
  /** Epoch ms when the run announced it (the event expires `WEBHOOK_RETRY_HOURS` later). */
  announcedAt: number;
}

/** How an endpoint is doing, as `GET /webhooks` and `/metrics` show it. */
export interface WebhookEndpointHealth {
  state: 'healthy' | 'failing';
  /** Epoch ms of the state's beginning (the first failure of the failing streak, or the answer that ended it). */
  since: number;
  /** Failed attempts in a row. */
  failures: number;
  /** The last failure's reason, never a secret (the receiver's host and its answer). */
  lastError: string | null;
}

/** What an endpoint's workflow carries into its next run. */
export interface WebhookEndpointState {
  orgId: string;
  /** Waiting events, oldest first: they go out in this order. */
  pending: WebhookEvent[];
  health: WebhookEndpointHealth;
  /** The ids of the latest delivered events: an announcement repeated after its delivery is not sent twice. */
  recentlyDelivered: string[];
  delivered: number;
  expired: number;
}

/** Input of an endpoint's first workflow run. */
export interface WebhookEndpointInput {
  orgId: string;
}

/** What an endpoint's workflow answers: its health, and what waits. */
export interface WebhookEndpointView extends WebhookEndpointHealth {
  pending: number;
  /** Epoch ms the oldest waiting event was announced, or null. */
  oldestPendingAt: number | null;
  delivered: number;
  expired: number;
}

/** A run's closing reaches its organization's endpoint (signal-with-start: the endpoint's workflow starts if none runs). */
export const webhookEventSignal: SignalDefinition<[WebhookEvent]> = defineSignal('webhookEvent');
/** How the endpoint is doing. */
export const webhookEndpointQuery: QueryDefinition<WebhookEndpointView, []> = defineQuery('endpoint');

/** What one delivery activity did with the events it was given, in order. */
export interface WebhookBatchOutcome {
  /** How many went out (a 2xx each), from the first. */
  delivered: number;
  /** Why the next one did not, when one did not. */
  failure?: string;
}

// The workflows' signatures, so that clients and activities start them typed without importing workflow code
// (packages/workflows checks at compile time that its functions have these types).
export type BulkAddKeysWorkflow = (start: BulkAddKeysStart | BulkAddKeysState) => Promise<BulkAddKeysProgress>;
export type LockQueueWorkflow = (start: LockQueueInput | LockQueueState) => Promise<void>;
export type WebhookEndpointWorkflow = (start: WebhookEndpointInput | WebhookEndpointState) => Promise<void>;

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

/** The run's summary in the Web UI ("Add 3 keys to lock 123 for org acme"). */
export function runSummaryLine(input: BulkAddKeysInput): string {
  const n = input.keys.length;
  return `Add ${n} key${n === 1 ? '' : 's'} to lock ${input.lockId} for org ${input.orgId}`;
}

/** The key list in short, for the run's static details in the Web UI. */
export function runDetails(input: BulkAddKeysInput): string {
  const shown = input.keys.slice(0, 20).map((k) => `- #${k.keyIndexNumber} ${k.keyUuid} (user ${k.userId})`);
  const more = input.keys.length > shown.length ? [`- … and ${input.keys.length - shown.length} more`] : [];
  return [`Keys for lock ${input.lockId}, requested by ${input.requestedBy}:`, ...shown, ...more].join('\n');
}
