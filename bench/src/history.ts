import type { JournalEntry } from '@lockkeys/contracts';
import type { WorkflowHandle } from '@temporalio/client';

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

/** What one workflow execution cost the server, counted from its history. */
export interface HistoryCost {
  events: number;
  /** Workflow tasks started (each is a poll, a replay or cache hit, and a completion on the server). */
  workflowTasks: number;
  /** Regular activity tasks scheduled (each a task queue round trip). */
  activityTasks: number;
  /** Local activities, one marker each. */
  localActivities: number;
  timers: number;
  signalsReceived: number;
  signalsSent: number;
  updatesAccepted: number;
}

export const HISTORY_COST_FIELDS: readonly (keyof HistoryCost)[] = [
  'events',
  'workflowTasks',
  'activityTasks',
  'localActivities',
  'timers',
  'signalsReceived',
  'signalsSent',
  'updatesAccepted',
];

const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

const zeroCost = (): HistoryCost =>
  Object.fromEntries(HISTORY_COST_FIELDS.map((field) => [field, 0])) as unknown as HistoryCost;

/** Counts the events of `history` that cost the server a task, a write or a round trip. */
export function historyCost(history: History): HistoryCost {
  const cost = zeroCost();
  for (const event of history.events ?? []) {
    cost.events++;
    if (event.workflowTaskStartedEventAttributes) cost.workflowTasks++;
    if (event.activityTaskScheduledEventAttributes) cost.activityTasks++;
    if (event.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER) cost.localActivities++;
    if (event.timerStartedEventAttributes) cost.timers++;
    if (event.workflowExecutionSignaledEventAttributes) cost.signalsReceived++;
    if (event.signalExternalWorkflowExecutionInitiatedEventAttributes) cost.signalsSent++;
    if (event.workflowExecutionUpdateAcceptedEventAttributes) cost.updatesAccepted++;
  }
  return cost;
}

/** Field by field sum of `costs`, divided by `divisor` (the mean when it is their count). */
export function sumCost(costs: readonly HistoryCost[], divisor = 1): HistoryCost {
  const total = zeroCost();
  for (const cost of costs) for (const field of HISTORY_COST_FIELDS) total[field] += cost[field];
  if (divisor !== 1)
    for (const field of HISTORY_COST_FIELDS) total[field] = Math.round((total[field] / divisor) * 100) / 100;
  return total;
}

/** What one run costs, per run and per key: its own history, and its share of the helper workflows it used. */
export interface RunCost {
  runsSampled: number;
  helpersSampled: number;
  /** Mean of the runs' own histories. */
  run: HistoryCost;
  /** The helpers' (the locks' workflows') histories summed, divided by the runs that used them. */
  helpers: HistoryCost;
  perRun: HistoryCost;
  perKey: HistoryCost;
}

/**
 * The cost per run and per key of a sample of runs with `keysPerRun` keys each, and of the helper workflows that
 * exactly these runs used (for lockkeys: each run's lock's workflow; none for the plain peer).
 */
export function runCost(runs: readonly HistoryCost[], helpers: readonly HistoryCost[], keysPerRun: number): RunCost {
  const run = sumCost(runs, runs.length || 1);
  const share = sumCost(helpers, runs.length || 1);
  const perRun = sumCost([run, share]);
  return {
    runsSampled: runs.length,
    helpersSampled: helpers.length,
    run,
    helpers: share,
    perRun,
    perKey: sumCost([perRun], keysPerRun),
  };
}

/**
 * Where the time between two consecutive commands to the lock goes, one sample per gap, in the order it is spent;
 * the parts of a gap add up to `gap − gapMs`. Which parts a gap has depends on how each key's `addKey` ran:
 * - the key before the gap: regular activity (`lockToActivityCompleted`, `activityCompletedToTimerStarted`) or
 *   local activity (`lockToTimerStarted`: its result goes back into the same workflow task, which completes with
 *   the marker and the timer);
 * - the timer: `timerLateness` (beyond `gapMs`), `timerFiredToTaskStarted`;
 * - the key after the gap: regular (`taskStartedToActivityScheduled`, `activityScheduleToStart`,
 *   `activityStartedToLock`) or local (`taskStartedToLock`: activation, the SDK's local activity dispatch, HTTP).
 */
export interface GapBreakdown {
  /** How the keys' `addKey` ran, as counted from the history. */
  kinds: { local: number; remote: number };
  parts: Record<string, number[]>;
}

/**
 * Splits each gap of a single run's commands (its lock's journal, every command answered 201) into its parts, from
 * the run's history. Undefined when they cannot be lined up (retries, a gap without its timer).
 */
export function gapBreakdown(
  history: History,
  commands: readonly JournalEntry[],
  gapMs: number,
): GapBreakdown | undefined {
  if (commands.length < 2 || commands.some((c) => c.status !== 201)) return undefined;
  interface Activity {
    scheduled: number;
    started?: number;
    completed?: number;
  }
  const activities = new Map<number, Activity>();
  const timers = new Map<number, { started: number; fired?: number }>();
  const taskStarts: number[] = [];
  for (const event of history.events ?? []) {
    const at = eventMs(event);
    const id = toNumber(event.eventId);
    if (event.workflowTaskStartedEventAttributes) taskStarts.push(at);
    if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'addKey')
      activities.set(id, { scheduled: at });
    const started = activities.get(toNumber(event.activityTaskStartedEventAttributes?.scheduledEventId));
    if (event.activityTaskStartedEventAttributes && started) started.started = at;
    const completed = activities.get(toNumber(event.activityTaskCompletedEventAttributes?.scheduledEventId));
    if (event.activityTaskCompletedEventAttributes && completed) completed.completed = at;
    if (event.timerStartedEventAttributes) timers.set(id, { started: at });
    const fired = timers.get(toNumber(event.timerFiredEventAttributes?.startedEventId));
    if (event.timerFiredEventAttributes && fired) fired.fired = at;
  }
  const remote = [...activities.values()].filter(
    (a): a is Required<Activity> => a.started !== undefined && a.completed !== undefined,
  );
  // The regular activity that sent the command received at `at`, if one did.
  const remoteAt = (at: number) => remote.find((a) => a.started <= at && at <= a.completed);
  const kinds = { local: 0, remote: 0 };
  for (const command of commands) kinds[remoteAt(command.at) ? 'remote' : 'local']++;

  const parts: Record<string, number[]> = {};
  const add = (part: string, value: number) => (parts[part] ??= []).push(value);
  for (let k = 0; k + 1 < commands.length; k++) {
    const [from, to] = [commands[k]!.at, commands[k + 1]!.at];
    const timer = [...timers.values()].find((t) => t.started >= from && t.started <= to && t.fired !== undefined);
    if (timer === undefined) return undefined;
    const fired = timer.fired!;
    const taskStarted = taskStarts.find((t) => t >= fired);
    if (taskStarted === undefined || taskStarted > to) return undefined;
    const before = remoteAt(from);
    if (before) {
      add('lockToActivityCompleted', before.completed - from);
      add('activityCompletedToTimerStarted', timer.started - before.completed);
    } else {
      add('lockToTimerStarted', timer.started - from);
    }
    add('timerLateness', fired - timer.started - gapMs);
    add('timerFiredToTaskStarted', taskStarted - fired);
    const after = remoteAt(to);
    if (after) {
      add('taskStartedToActivityScheduled', after.scheduled - taskStarted);
      add('activityScheduleToStart', after.started - after.scheduled);
      add('activityStartedToLock', to - after.started);
    } else {
      add('taskStartedToLock', to - taskStarted);
    }
  }
  return { kinds, parts };
}

/** The order gap parts are printed in (the order the time is spent). */
export const GAP_PARTS = [
  'lockToActivityCompleted',
  'activityCompletedToTimerStarted',
  'lockToTimerStarted',
  'timerLateness',
  'timerFiredToTaskStarted',
  'taskStartedToActivityScheduled',
  'activityScheduleToStart',
  'activityStartedToLock',
  'taskStartedToLock',
] as const;

/** The order run-start parts are printed in. */
export const START_PARTS = [
  'postToLockStarted',
  'lockStartedToAdmitted',
  'admittedToRunStarted',
  'postToRunStarted',
  'runStartedToFirstTask',
  'firstTaskToFirstCommand',
] as const;

/**
 * Where the time from a run's POST (or start call) to its first command at the lock goes, from its history and, for
 * lockkeys, its lock's workflow's (started by the admission, whose first update answer is the run's place). The
 * parts add up to `firstCommandAt − postedAt`. Undefined when the lock's workflow ran before the POST (its start says
 * nothing about this run).
 */
export function startBreakdown(
  run: History,
  lock: History | undefined,
  postedAt: number,
  firstCommandAt: number,
): Record<string, number> | undefined {
  const events = run.events ?? [];
  const started = events[0];
  const firstTask = events.find((e) => e.workflowTaskStartedEventAttributes);
  if (started === undefined || firstTask === undefined) return undefined;
  const tail = {
    runStartedToFirstTask: eventMs(firstTask) - eventMs(started),
    firstTaskToFirstCommand: firstCommandAt - eventMs(firstTask),
  };
  if (lock === undefined) return { postToRunStarted: eventMs(started) - postedAt, ...tail };
  const lockStarted = lock.events?.[0];
  const admitted = lock.events?.find((e) => e.workflowExecutionUpdateCompletedEventAttributes);
  if (lockStarted === undefined || admitted === undefined || eventMs(lockStarted) < postedAt) return undefined;
  return {
    postToLockStarted: eventMs(lockStarted) - postedAt,
    lockStartedToAdmitted: eventMs(admitted) - eventMs(lockStarted),
    admittedToRunStarted: eventMs(started) - eventMs(admitted),
    ...tail,
  };
}
