import type { WorkflowHandle } from '@temporalio/client';
import type { JournalEntry } from '@lockkeys/contracts';

/** A workflow's event history as the client fetches it. */
export type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];
type LongLike = number | { toNumber(): number } | null | undefined;

const toNumber = (value: LongLike) =>
  value === null || value === undefined ? 0 : typeof value === 'number' ? value : value.toNumber();
/** Server time of an event, epoch ms (the server, the simulator and the bench share this machine's clock). */
const eventMs = (event: HistoryEvent) =>
  toNumber(event.eventTime?.seconds) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;

/** Schedule-to-start of every workflow task and activity task in `history`, in ms (exact, unlike the SDK's buckets). */
export function scheduleToStart(history: History): { workflowTask: number[]; activity: number[] } {
  const scheduledAt = new Map<number, number>();
  const workflowTask: number[] = [];
  const activity: number[] = [];
  for (const event of history.events ?? []) {
    const id = toNumber(event.eventId);
    if (event.workflowTaskScheduledEventAttributes || event.activityTaskScheduledEventAttributes)
      scheduledAt.set(id, eventMs(event));
    const wft = event.workflowTaskStartedEventAttributes;
    const act = event.activityTaskStartedEventAttributes;
    const started = wft ?? act;
    if (!started) continue;
    const from = scheduledAt.get(toNumber(started.scheduledEventId));
    if (from !== undefined) (wft ? workflowTask : activity).push(eventMs(event) - from);
  }
  return { workflowTask, activity };
}

/**
 * Where the time between two consecutive commands to the lock goes (ms, one sample per gap), named by
 * part in the order they happen. Two designs exist, told apart by the history:
 * - `timer`: the workflow sleeps the gap in a timer after each answer; the parts add up to `gap − gapMs`
 *   (the gap itself is taken out of `timerLateness`).
 * - `activity`: addKey waits for what remains of the gap itself; the parts add up to the whole gap, the
 *   wait being inside `activityStartToLock`.
 */
export interface GapBreakdown {
  design: 'timer' | 'activity';
  parts: Record<string, number[]>;
}

/**
 * Splits each gap of a single-run bulkAddKeys into its parts, from the history and the journal of its
 * lock. Undefined when they cannot be lined up (retries, continue-as-new, other runs on the lock).
 */
export function gapBreakdown(
  history: History,
  commands: readonly JournalEntry[],
  gapMs: number,
): GapBreakdown | undefined {
  interface AddKey {
    scheduled: number;
    /** Start of the workflow task that scheduled it. */
    byTaskStarted: number;
    started?: number;
    completed?: number;
  }
  interface Timer {
    started: number;
    byTaskStarted: number;
    fired?: number;
  }
  const activities = new Map<number, AddKey>();
  const timers = new Map<number, Timer>();
  let lastTaskStarted = Number.NaN;
  for (const event of history.events ?? []) {
    const at = eventMs(event);
    const id = toNumber(event.eventId);
    if (event.workflowTaskStartedEventAttributes) lastTaskStarted = at;
    if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'addKey') {
      activities.set(id, { scheduled: at, byTaskStarted: lastTaskStarted });
    }
    const started = event.activityTaskStartedEventAttributes;
    const startedActivity = started && activities.get(toNumber(started.scheduledEventId));
    if (startedActivity) startedActivity.started = at;
    const completed = event.activityTaskCompletedEventAttributes;
    const completedActivity = completed && activities.get(toNumber(completed.scheduledEventId));
    if (completedActivity) completedActivity.completed = at;
    if (event.timerStartedEventAttributes) timers.set(id, { started: at, byTaskStarted: lastTaskStarted });
    const fired = event.timerFiredEventAttributes;
    const firedTimer = fired && timers.get(toNumber(fired.startedEventId));
    if (firedTimer) firedTimer.fired = at;
  }
  const keys = [...activities.values()];
  const gaps = [...timers.values()];
  if (keys.length !== commands.length || keys.some((k) => k.started === undefined || k.completed === undefined))
    return undefined;
  const design = gaps.length === 0 ? 'activity' : gaps.length === keys.length - 1 ? 'timer' : undefined;
  if (design === undefined || gaps.some((t) => t.fired === undefined)) return undefined;

  const parts: Record<string, number[]> = {};
  const add = (part: string, value: number) => (parts[part] ??= []).push(value);
  for (let k = 0; k + 1 < keys.length; k++) {
    const [done, next] = [keys[k]!, keys[k + 1]!];
    // Lock answered → the server records the activity completed (HTTP reply, SDK, gRPC).
    add('lockReplyToActivityCompleted', done.completed! - commands[k]!.at);
    const timer = gaps[k];
    if (timer) {
      // The workflow task that starts the timer: waiting for a poller, then replay, run, complete.
      add('activityCompletedToWorkflowTaskStarted', timer.byTaskStarted - done.completed!);
      add('workflowTaskToTimerStarted', timer.started - timer.byTaskStarted);
      add('timerLateness', timer.fired! - timer.started - gapMs);
      add('timerFiredToWorkflowTaskStarted', next.byTaskStarted - timer.fired!);
    } else {
      add('activityCompletedToWorkflowTaskStarted', next.byTaskStarted - done.completed!);
    }
    add('workflowTaskToActivityScheduled', next.scheduled - next.byTaskStarted);
    // Activity task matching and poll.
    add('activityScheduleToStart', next.started! - next.scheduled);
    // SDK and HTTP request (and, in the `activity` design, the rest of the gap).
    add('activityStartToLock', commands[k + 1]!.at - next.started!);
  }
  return { design, parts };
}
