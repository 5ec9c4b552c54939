import type { JournalEntry } from '@lockkeys/contracts';
import { checkJournals, describeCheck } from './checks';

const entry = (at: number, keyUuid: string, status = 201): JournalEntry => ({ at, keyIndexNumber: 0, keyUuid, status });

test('a clean journal: every key once, every gap at least the gap', () => {
  const check = checkJournals(
    new Map([
      [1, [entry(0, 'a'), entry(1000, 'b')]],
      [2, [entry(5, 'c')]],
    ]),
    new Map([
      [1, ['a', 'b']],
      [2, ['c']],
    ]),
    1000,
  );
  expect(check).toMatchObject({ clean: true, commands: 3, keysAdded: 3, keysExpected: 3, statuses: { 201: 3 } });
  expect(describeCheck(check)).toBe('ok');
});

test('short gaps, missing keys, keys sent twice and strangers are all reported', () => {
  const check = checkJournals(
    new Map([[1, [entry(0, 'a'), entry(999, 'a', 200), entry(2000, 'x', 429)]]]),
    new Map([[1, ['a', 'b']]]),
    1000,
  );
  expect(check).toMatchObject({
    clean: false,
    undersizedGaps: [{ lockId: 1, gapMs: 999 }],
    undersizedGapCount: 1,
    missing: ['b'],
    repeated: [{ keyUuid: 'a', commands: 2 }],
    unexpected: 1,
    keysAdded: 1,
    statuses: { 201: 1, 200: 1, 429: 1 },
  });
  expect(describeCheck(check)).toBe(
    'VIOLATED: 1 gaps < gap, 1 keys missing, 1 keys sent more than once, 1 unexpected commands',
  );
});

test('a lock without a journal: all its keys are missing', () => {
  expect(checkJournals(new Map(), new Map([[7, ['k']]]), 1000).missing).toEqual(['k']);
});
