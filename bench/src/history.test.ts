import type { JournalEntry } from '@lockkeys/contracts';
import { gapBreakdown, historyCost, runCost, scheduleToStart, startBreakdown, sumCost, type History } from './history';

const T0 = 1_700_000_000_000;
type Spec = [string, number, Record<string, unknown>?];
/** A history as the server records it, from [event type, time in ms, fields]; ids are 1-based positions. */
const historyOf = (events: Spec[]): History =>
  ({
    events: events.map(([attributes, ms, fields], i) => ({
      eventId: i + 1,
      eventTime: { seconds: Math.floor((T0 + ms) / 1000), nanos: ((T0 + ms) % 1000) * 1e6 },
      [attributes]: fields ?? {},
    })),
  }) as unknown as History;

// Two keys as regular activities with a timer between them (the plain peer, lockkeys remote).
const remoteRun = historyOf([
  ['workflowTaskScheduledEventAttributes', 0],
  ['workflowTaskStartedEventAttributes', 4, { scheduledEventId: 1 }],
  ['activityTaskScheduledEventAttributes', 10, { activityType: { name: 'addKey' } }], // id 3
  ['activityTaskStartedEventAttributes', 13, { scheduledEventId: 3 }],
  ['activityTaskCompletedEventAttributes', 30, { scheduledEventId: 3 }],
  ['workflowTaskScheduledEventAttributes', 30],
  ['workflowTaskStartedEventAttributes', 35, { scheduledEventId: 6 }],
  ['timerStartedEventAttributes', 45], // id 8
  ['timerFiredEventAttributes', 1047, { startedEventId: 8 }],
  ['workflowTaskScheduledEventAttributes', 1047],
  ['workflowTaskStartedEventAttributes', 1053, { scheduledEventId: 10 }],
  ['activityTaskScheduledEventAttributes', 1060, { activityType: { name: 'addKey' } }], // id 12
  ['activityTaskStartedEventAttributes', 1066, { scheduledEventId: 12 }],
  ['activityTaskCompletedEventAttributes', 1080, { scheduledEventId: 12 }],
]);
const journal: JournalEntry[] = [
  { at: T0 + 20, keyIndexNumber: 0, keyUuid: 'a', status: 201 },
  { at: T0 + 1070, keyIndexNumber: 1, keyUuid: 'b', status: 201 },
];
const sumOf = (parts: Record<string, number[]>) => Object.values(parts).reduce((sum, [v]) => sum + v!, 0);

test('a gap between two regular activities splits into parts that add up to gap − KEY_COMMAND_GAP_MS', () => {
  const breakdown = gapBreakdown(remoteRun, journal, 1000)!;
  expect(breakdown.kinds).toEqual({ local: 0, remote: 2 });
  expect(breakdown.parts).toEqual({
    lockToActivityCompleted: [10],
    activityCompletedToTimerStarted: [15],
    timerLateness: [2],
    timerFiredToTaskStarted: [6],
    taskStartedToActivityScheduled: [7],
    activityScheduleToStart: [6],
    activityStartedToLock: [4],
  });
  expect(sumOf(breakdown.parts)).toBe(journal[1]!.at - journal[0]!.at - 1000);
});

test('a gap from a local activity (marker) to the last key as a regular activity, as lockkeys local runs', () => {
  const localRun = historyOf([
    ['workflowTaskScheduledEventAttributes', 0],
    ['workflowTaskStartedEventAttributes', 4, { scheduledEventId: 1 }],
    ['workflowTaskCompletedEventAttributes', 40],
    ['markerRecordedEventAttributes', 40, { markerName: 'core_local_activity' }],
    ['timerStartedEventAttributes', 40], // id 5
    ['timerFiredEventAttributes', 1043, { startedEventId: 5 }],
    ['workflowTaskScheduledEventAttributes', 1043],
    ['workflowTaskStartedEventAttributes', 1048, { scheduledEventId: 7 }],
    ['workflowTaskCompletedEventAttributes', 1052],
    ['activityTaskScheduledEventAttributes', 1052, { activityType: { name: 'addKey' } }], // id 10
    ['activityTaskStartedEventAttributes', 1055, { scheduledEventId: 10 }],
    ['activityTaskCompletedEventAttributes', 1070, { scheduledEventId: 10 }],
  ]);
  const commands: JournalEntry[] = [
    { at: T0 + 30, keyIndexNumber: 0, keyUuid: 'a', status: 201 },
    { at: T0 + 1060, keyIndexNumber: 1, keyUuid: 'b', status: 201 },
  ];
  const breakdown = gapBreakdown(localRun, commands, 1000)!;
  expect(breakdown.kinds).toEqual({ local: 1, remote: 1 });
  expect(breakdown.parts).toEqual({
    lockToTimerStarted: [10],
    timerLateness: [3],
    timerFiredToTaskStarted: [5],
    taskStartedToActivityScheduled: [4],
    activityScheduleToStart: [3],
    activityStartedToLock: [5],
  });
  expect(sumOf(breakdown.parts)).toBe(30);
  expect(historyCost(localRun)).toMatchObject({ workflowTasks: 2, localActivities: 1, activityTasks: 1, timers: 1 });
});

test('no breakdown for a journal with a retry, or a gap without its timer', () => {
  expect(gapBreakdown(remoteRun, [journal[0]!, { ...journal[1]!, status: 429 }], 1000)).toBeUndefined();
  const withoutTimer = {
    events: remoteRun.events!.filter((e) => !e.timerStartedEventAttributes && !e.timerFiredEventAttributes),
  } as History;
  expect(gapBreakdown(withoutTimer, journal, 1000)).toBeUndefined();
});

test('schedule-to-start of each workflow task and activity', () => {
  expect(scheduleToStart(remoteRun)).toEqual({ workflowTask: [4, 5, 6], activity: [3, 6] });
});

test('history cost counts events, workflow tasks, activity tasks, timers, signals and updates', () => {
  const lock = historyOf([
    ['workflowExecutionStartedEventAttributes', 0],
    ['workflowTaskScheduledEventAttributes', 0],
    ['workflowTaskStartedEventAttributes', 1],
    ['workflowTaskCompletedEventAttributes', 2],
    ['workflowExecutionUpdateAcceptedEventAttributes', 2],
    ['markerRecordedEventAttributes', 2, { markerName: 'core_patch' }],
    ['workflowExecutionSignaledEventAttributes', 5],
    ['signalExternalWorkflowExecutionInitiatedEventAttributes', 6],
  ]);
  expect(historyCost(lock)).toEqual({
    events: 8,
    workflowTasks: 1,
    activityTasks: 0,
    localActivities: 0,
    timers: 0,
    signalsReceived: 1,
    signalsSent: 1,
    updatesAccepted: 1,
  });
  expect(historyCost(remoteRun)).toMatchObject({ events: 14, workflowTasks: 3, activityTasks: 2, timers: 1 });
});

test('cost per run is the runs’ mean plus their locks’ workflows’ share; per key divides it by the keys of a run', () => {
  const run = historyCost(remoteRun); // 14 events, 3 tasks
  const bigger = { ...run, events: 16, workflowTasks: 5 };
  const lock = { ...sumCost([]), events: 10, workflowTasks: 4 };
  const cost = runCost([run, bigger], [lock, lock], 2);
  expect(cost.run).toMatchObject({ events: 15, workflowTasks: 4 });
  expect(cost.helpers).toMatchObject({ events: 10, workflowTasks: 4 });
  expect(cost.perRun).toMatchObject({ events: 25, workflowTasks: 8 });
  expect(cost.perKey).toMatchObject({ events: 12.5, workflowTasks: 4 });
  // The plain peer has no helpers.
  expect(runCost([run], [], 2).perRun).toEqual(run);
});

test('the way from POST to the first command: through the lock’s workflow for lockkeys, straight for the plain peer', () => {
  const lock = historyOf([
    ['workflowExecutionStartedEventAttributes', 50],
    ['workflowTaskScheduledEventAttributes', 50],
    ['workflowTaskStartedEventAttributes', 60],
    ['workflowTaskCompletedEventAttributes', 80],
    ['workflowExecutionUpdateAcceptedEventAttributes', 80],
    ['workflowExecutionUpdateCompletedEventAttributes', 80],
  ]);
  const run = historyOf([
    ['workflowExecutionStartedEventAttributes', 100],
    ['workflowTaskScheduledEventAttributes', 100],
    ['workflowTaskStartedEventAttributes', 130],
  ]);
  expect(startBreakdown(run, lock, T0 + 40, T0 + 260)).toEqual({
    postToLockStarted: 10,
    lockStartedToAdmitted: 30,
    admittedToRunStarted: 20,
    runStartedToFirstTask: 30,
    firstTaskToFirstCommand: 130,
  });
  expect(startBreakdown(run, undefined, T0 + 40, T0 + 260)).toEqual({
    postToRunStarted: 60,
    runStartedToFirstTask: 30,
    firstTaskToFirstCommand: 130,
  });
  // A lock's workflow that ran before the POST says nothing about this run's start.
  expect(startBreakdown(run, lock, T0 + 60, T0 + 600)).toBeUndefined();
});
