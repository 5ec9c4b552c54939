import { keyIndexes, keysFor } from './keys';

test('keysFor: one key per slot, uuids unique per tag and lock', () => {
  expect(keysFor(501, [1, 2])).toEqual([
    { keyUuid: 'k-501-1', keyIndexNumber: 1, userId: 'user-1' },
    { keyUuid: 'k-501-2', keyIndexNumber: 2, userId: 'user-2' },
  ]);
  expect(keysFor(7, keyIndexes(3, 4), 'drill').map((k) => k.keyUuid)).toEqual(['drill-7-4', 'drill-7-5', 'drill-7-6']);
});

test('keyIndexes counts from `first` (default 0)', () => {
  expect(keyIndexes(3)).toEqual([0, 1, 2]);
  expect(keyIndexes(2, 10)).toEqual([10, 11]);
  expect(keyIndexes(0)).toEqual([]);
});
