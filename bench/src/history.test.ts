import type { JournalEntry } from '@lockkeys/contracts';
import { gapBreakdown, scheduleToStart, type History } from './history';

// A two-key run as the server records it: [event type, time in ms, fields]; ids are 1-based positions.
const T0 = 1_700_000_000_000;
const events: [string, number, Record<string, unknown>?][] = [
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
];
const history = {
  events: events.map(([attributes, ms, fields], i) => ({
    eventId: i + 1,
    eventTime: { seconds: Math.floor((T0 + ms) / 1000), nanos: ((T0 + ms) % 1000) * 1e6 },
    [attributes]: fields ?? {},
  })),
} as unknown as History;
const journal: JournalEntry[] = [
  { at: T0 + 20, keyIndexNumber: 0, keyUuid: 'a', status: 201 },
  { at: T0 + 1070, keyIndexNumber: 1, keyUuid: 'b', status: 201 },
];

test('splits a timer-design gap into parts that add up to gap − KEY_COMMAND_GAP_MS', () => {
  const breakdown = gapBreakdown(history, journal, 1000)!;
  expect(breakdown.design).toBe('timer');
  expect(breakdown.parts).toEqual({
    lockReplyToActivityCompleted: [10],
    activityCompletedToWorkflowTaskStarted: [5],
    workflowTaskToTimerStarted: [10],
    timerLateness: [2],
    timerFiredToWorkflowTaskStarted: [6],
    workflowTaskToActivityScheduled: [7],
    activityScheduleToStart: [6],
    activityStartToLock: [4],
  });
  const total = Object.values(breakdown.parts).reduce((sum, [v]) => sum + v!, 0);
  expect(total).toBe(journal[1]!.at - journal[0]!.at - 1000);
});

test('splits an activity-design gap (no timer: addKey waits itself) into parts that add up to the whole gap', () => {
  const withoutTimer = {
    events: history.events!.filter((e) => !e.timerStartedEventAttributes && !e.timerFiredEventAttributes),
  } as History;
  const breakdown = gapBreakdown(withoutTimer, journal, 1000)!;
  expect(breakdown.design).toBe('activity');
  const total = Object.values(breakdown.parts).reduce((sum, [v]) => sum + v!, 0);
  expect(total).toBe(journal[1]!.at - journal[0]!.at);
  expect(breakdown.parts.timerLateness).toBeUndefined();
});

test('refuses to line up a journal with more commands than the run sent (a retry, another run)', () => {
  expect(gapBreakdown(history, [...journal, { ...journal[1]!, at: T0 + 2100 }], 1000)).toBeUndefined();
});

test('schedule-to-start of each workflow task and activity', () => {
  expect(scheduleToStart(history)).toEqual({ workflowTask: [4, 5, 6], activity: [3, 6] });
});
