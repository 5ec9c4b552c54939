import type { CommandGap } from '@lockkeys/contracts';
import { remainingGapMs } from './activities';

const me = 'host:1:aaaa';
const gap = (previous?: { answeredAt: number | null; answeredBy: string | null }): CommandGap => ({
  commandGapMs: 1_000,
  ...(previous ? { previous } : {}),
});

test.each<[string, CommandGap | undefined, number, number, number]>([
  ['old runs (no gap info): no wait, the workflow slept', undefined, 1, 5_000, 0],
  ['first command of a run: no wait, the mutex kept the gap', gap(), 1, 5_000, 0],
  [
    'same process, 30 ms after the lock answered the previous command: the rest of the gap',
    gap({ answeredAt: 5_000, answeredBy: me }),
    1,
    5_030,
    970,
  ],
  ['same process, gap already over: no wait', gap({ answeredAt: 5_000, answeredBy: me }), 1, 6_200, 0],
  ['same process, exactly at the gap: no wait', gap({ answeredAt: 5_000, answeredBy: me }), 1, 6_000, 0],
  [
    'same process with a 5 ms margin for jitter',
    { ...gap({ answeredAt: 5_000, answeredBy: me }), marginMs: 5 },
    1,
    5_030,
    975,
  ],
  [
    'another process got the answer: a full gap (its clock is not ours)',
    gap({ answeredAt: 5_000, answeredBy: 'host:2:bbbb' }),
    1,
    5_030,
    1_000,
  ],
  ['no answer (timed out): a full gap', gap({ answeredAt: null, answeredBy: null }), 1, 5_030, 1_000],
  ['a retry: the retry policy spaced it already', gap({ answeredAt: 5_000, answeredBy: me }), 2, 5_030, 0],
])('%s', (_name, commandGap, attempt, now, expected) => {
  expect(remainingGapMs(commandGap, attempt, me, now)).toBe(expected);
});
