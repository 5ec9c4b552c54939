import {
  LockBackendFailureType,
  MEMO_CREATED_AT,
  RunFailureType,
  summarize,
  type AddKeyFailureDetails,
  type AddKeyResult,
  type BulkAddKeysProgress,
  type BulkAddKeysStart,
  type BulkAddKeysState,
  type KeyError,
  type KeyProgress,
  type RunPhase,
  type RunSettings,
} from '@lockkeys/contracts';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;
type Failure = temporal.api.failure.v1.IFailure;

/** Turns a payload into the value it holds (the client's data converter). */
export type Decode = (payload: Payload) => unknown;

/** Core's record of one local activity, in the `data` detail of its marker. */
interface LocalActivityRecord {
  activity_type: string;
  attempt: number;
}

/**
 * A run's progress rebuilt from its own history, for when the workflow cannot answer its query (no worker up,
 * or a closed run): the keys the run started from (the request, or the state carried by continue-as-new, so the
 * latest run's history is the whole story), then every `addKey` as it happened — completed → `added` with its
 * attempts, failed for good → `failed` with the reason, the one in flight → `adding`. A key the lock has
 * confirmed to the run is never `pending`. It applies the workflow's own rules (an unknown lock fails every
 * remaining key; a cancelled run's unsent keys end `cancelled`); its tests check it against real histories.
 */
export function progressFromHistory(events: readonly HistoryEvent[], decode: Decode): BulkAddKeysProgress {
  const start = events[0]?.workflowExecutionStartedEventAttributes;
  const first = start?.input?.payloads?.[0];
  if (first === undefined) throw new Error('not the history of a bulkAddKeys run: no input');
  const input = decode(first) as BulkAddKeysStart | BulkAddKeysState;
  const carried = 'settings' in input ? input : undefined;
  const keys: KeyProgress[] = carried
    ? carried.keys.map((key) => ({ ...key }))
    : input.keys.map((key) => ({ ...key, status: 'pending', attempts: 0, error: null }));
  let local = carried?.settings.addKey.activity !== 'remote';
  const fold = new HistoryFold(keys, input.lock?.holding === true, carried?.paused ?? false);
  const scheduled = new Map<string, KeyProgress>();

  for (const event of events) {
    const localActivity = localActivityOf(event, decode);
    if (localActivity?.record.activity_type === 'addKey') {
      // A local addKey has no input in the history, but the run sends keys in order: it is the next pending one.
      const key = fold.nextPending();
      if (key) {
        if (localActivity.failure)
          fold.failed(key, failureOf(localActivity.failure, decode), localActivity.record.attempt);
        else
          fold.added(key, (localActivity.result as AddKeyResult | undefined)?.attempt ?? localActivity.record.attempt);
      }
    } else if (localActivity?.record.activity_type === 'readRunSettings') {
      local = (localActivity.result as RunSettings | undefined)?.addKey.activity !== 'remote';
    }
    // The run gave its place back (paused) or left the lock (closed): it sends nothing until it holds it again.
    const toLock = event.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName;
    if (toLock === 'runPaused' || toLock === 'runClosed' || toLock === 'runResumed') fold.holdsLock = false;

    const scheduledAttributes = event.activityTaskScheduledEventAttributes;
    if (scheduledAttributes?.activityType?.name === 'addKey') {
      const payload = scheduledAttributes.input?.payloads?.[0];
      const keyUuid = payload ? (decode(payload) as { key: { keyUuid: string } }).key.keyUuid : undefined;
      const key = keys.find((k) => k.keyUuid === keyUuid);
      if (key) {
        key.status = 'adding';
        scheduled.set(String(event.eventId), key);
        fold.holdsLock = true;
      }
    }
    const started = event.activityTaskStartedEventAttributes;
    const startedKey = started && scheduled.get(String(started.scheduledEventId));
    if (startedKey && started) startedKey.attempts = Math.max(startedKey.attempts, started.attempt ?? 0);
    const completed = event.activityTaskCompletedEventAttributes;
    const completedKey = completed && scheduled.get(String(completed.scheduledEventId));
    if (completedKey && completed) {
      const result = completed.result?.payloads?.[0];
      fold.added(completedKey, result ? (decode(result) as AddKeyResult).attempt : completedKey.attempts);
    }
    const failedActivity = event.activityTaskFailedEventAttributes;
    const failedKey = failedActivity && scheduled.get(String(failedActivity.scheduledEventId));
    if (failedKey && failedActivity?.failure) fold.failed(failedKey, failureOf(failedActivity.failure, decode));
    const timedOut = event.activityTaskTimedOutEventAttributes;
    const timedOutKey = timedOut && scheduled.get(String(timedOut.scheduledEventId));
    if (timedOutKey) {
      fold.failed(timedOutKey, { error: { type: RunFailureType.Timeout, message: 'addKey ran out of time' } });
    }
    const canceledKey = event.activityTaskCanceledEventAttributes
      ? scheduled.get(String(event.activityTaskCanceledEventAttributes.scheduledEventId))
      : undefined;
    if (canceledKey) canceledKey.status = 'cancelled';

    const signal = event.workflowExecutionSignaledEventAttributes?.signalName;
    if (signal === 'pause') fold.paused = true;
    if (signal === 'resume') fold.paused = false;
    if (signal === 'lockGranted') fold.holdsLock = true;
    if (event.workflowExecutionCanceledEventAttributes) {
      for (const key of keys) if (key.status === 'pending' || key.status === 'adding') key.status = 'cancelled';
    }
  }

  // A local addKey runs inside a workflow task: while one is under way (or was, when its worker died), the next
  // key's command may be at the lock without a record yet — but only if the run holds the lock (a run admitted to an
  // idle lock holds it from its start); a run waiting in its lock's queue sends nothing.
  if (local && fold.holdsLock && !fold.paused && workflowTaskUnderWay(events)) {
    const next = fold.nextPending();
    if (next) next.status = 'adding';
  }
  // When the gateway accepted the request (its memo), else the run's start: the run's own rule for `createdAt`.
  const memoCreatedAt = start?.memo?.fields?.[MEMO_CREATED_AT];
  const accepted = memoCreatedAt ? decode(memoCreatedAt) : undefined;
  const createdAt = carried?.createdAt ?? (typeof accepted === 'string' ? accepted : eventTime(events[0]));
  const phase: RunPhase = fold.paused ? 'paused' : fold.holdsLock ? 'running' : 'queued';
  return { lockId: input.lockId, phase, createdAt, keys, summary: summarize(keys) };
}

/** Key outcomes as the history tells them, with the workflow's rules. */
class HistoryFold {
  constructor(
    readonly keys: KeyProgress[],
    public holdsLock: boolean,
    public paused: boolean,
  ) {}

  nextPending(): KeyProgress | undefined {
    return this.keys.find((key) => key.status === 'pending');
  }

  added(key: KeyProgress, attempts: number): void {
    Object.assign(key, { status: 'added', attempts, error: null });
  }

  failed(key: KeyProgress, failure: { error: KeyError; attempts?: number | undefined }, attempts?: number): void {
    Object.assign(key, {
      status: 'failed',
      error: failure.error,
      attempts: failure.attempts ?? attempts ?? key.attempts,
    });
    if (failure.error.type === LockBackendFailureType.LockNotFound) {
      for (const rest of this.keys)
        if (rest.status === 'pending') Object.assign(rest, { status: 'failed', error: failure.error });
    }
  }
}

function localActivityOf(
  event: HistoryEvent,
  decode: Decode,
): { record: LocalActivityRecord; result: unknown; failure: Failure | undefined } | undefined {
  const marker = event.markerRecordedEventAttributes;
  const data = marker?.details?.data?.payloads?.[0];
  if (marker?.markerName !== 'core_local_activity' || data === undefined) return undefined;
  const result = marker.details?.result?.payloads?.[0];
  return {
    record: decode(data) as LocalActivityRecord,
    result: result === undefined ? undefined : decode(result),
    failure: marker.failure ?? undefined,
  };
}

/** The key's recorded reason: the lock's answer (with the attempts in its details), or a timeout. */
function failureOf(failure: Failure, decode: Decode): { error: KeyError; attempts?: number | undefined } {
  // A regular activity's failure wraps the activity's own in `cause`.
  const own = failure.activityFailureInfo && failure.cause ? failure.cause : failure;
  if (own.timeoutFailureInfo) {
    return { error: { type: RunFailureType.Timeout, message: own.message ?? 'addKey ran out of time' } };
  }
  const details = own.applicationFailureInfo?.details?.payloads?.[0];
  const attempts = details ? (decode(details) as AddKeyFailureDetails).attempt : undefined;
  return {
    error: { type: own.applicationFailureInfo?.type ?? 'ApplicationFailure', message: own.message ?? '' },
    attempts,
  };
}

/** The history ends with a workflow task that started (or timed out) and did not complete. */
function workflowTaskUnderWay(events: readonly HistoryEvent[]): boolean {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.workflowTaskCompletedEventAttributes) return false;
    if (event.workflowTaskStartedEventAttributes || event.workflowTaskTimedOutEventAttributes) return true;
  }
  return false;
}

function eventTime(event: HistoryEvent | undefined): string {
  return (timestampOf(event?.eventTime) ?? new Date(0)).toISOString();
}

/** A Temporal protobuf timestamp as a Date (undefined when absent). */
export function timestampOf(time: { seconds?: unknown; nanos?: number | null } | null | undefined): Date | undefined {
  if (time?.seconds === undefined || time.seconds === null) return undefined;
  return new Date(Number(time.seconds) * 1000 + Math.floor((time.nanos ?? 0) / 1e6));
}
