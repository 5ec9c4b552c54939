import { addedToAddedGaps, journalGaps, type JournalEntry } from './bench-stack';

const at = (ms: number, status = 201): JournalEntry => ({ at: ms, keyIndexNumber: 0, keyUuid: 'k', status });

test('every command counts for the contract gap, a refused one included', () => {
  expect(journalGaps([at(0), at(700, 429), at(1_700), at(2_710)])).toEqual([700, 1_000, 1_010]);
});

test('the overhead is measured between two added keys only, so retries do not count as overhead', () => {
  expect(addedToAddedGaps([at(0), at(700, 429), at(1_700), at(2_710)])).toEqual([1_010]);
  expect(addedToAddedGaps([at(0)])).toEqual([]);
});
