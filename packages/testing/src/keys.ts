import type { KeySpec } from '@lockkeys/contracts';

/** `count` consecutive slot numbers from `first`: `keyIndexes(3, 1)` is `[1, 2, 3]`. */
export const keyIndexes = (count: number, first = 0): number[] => Array.from({ length: count }, (_, i) => first + i);

/**
 * One key per slot in `indexes` for `lockId`: `keyUuid` `<tag>-<lockId>-<slot>` (unique per tag and lock, so a
 * journal tells the keys of one test apart), `userId` `user-<slot>`.
 */
export const keysFor = (lockId: number, indexes: readonly number[], tag = 'k'): KeySpec[] =>
  indexes.map((i) => ({ keyUuid: `${tag}-${lockId}-${i}`, keyIndexNumber: i, userId: `user-${i}` }));
