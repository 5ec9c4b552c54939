import type { LockMutexState } from '@lockkeys/contracts';
import { LockQueue } from './lock-queue';

const empty = (): LockMutexState => ({ lockId: 1, queue: [], holder: undefined, notBefore: 0, settings: undefined });
const ask = (run: string, n = 1) => ({ requesterId: run, ticket: `${run}#${n}` });

test('an idle lock is granted in the answer; later asks queue in arrival order', () => {
  const lock = new LockQueue(empty());
  expect(lock.admit(ask('a'))).toEqual({ granted: true, notBefore: 0 });
  expect(lock.admit(ask('b'))).toEqual({ granted: false, notBefore: 0 });
  expect(lock.admit(ask('c'))).toEqual({ granted: false, notBefore: 0 });
  lock.release('a#1', 5_000);
  expect(lock.grantNext()).toEqual(ask('b'));
  expect(lock.state.notBefore).toBe(5_000);
  lock.release('b#1', 7_000);
  expect(lock.grantNext()).toEqual(ask('c'));
  expect(lock.state.notBefore).toBe(7_000);
});

test('a retried ask gets the same answer and keeps its place', () => {
  const lock = new LockQueue(empty());
  lock.admit(ask('a'));
  lock.admit(ask('b'));
  expect(lock.admit(ask('a'))).toMatchObject({ granted: true });
  expect(lock.admit(ask('b'))).toMatchObject({ granted: false });
  expect(lock.state.queue).toEqual([ask('b')]);
});

test('the race: a release that arrives while the grant is in flight frees the lock', () => {
  const lock = new LockQueue(empty());
  lock.admit(ask('a'));
  lock.admit(ask('b'));
  lock.admit(ask('c'));
  lock.release('a#1', 1_000);
  // The mutex picks b and sends the grant; before the signal's completion comes back, b is done already
  // (cancelled, or it had nothing to send) and its release arrives.
  const granted = lock.grantNext();
  expect(granted).toEqual(ask('b'));
  lock.release('b#1', 2_000);
  // The lock is free for c at once — not held by a finished run until the holder check.
  expect(lock.holder).toBeUndefined();
  expect(lock.grantNext()).toEqual(ask('c'));
  expect(lock.state.notBefore).toBe(2_000);
});

test('a run that leaves the queue is gone from it; a release by a stranger changes nothing', () => {
  const lock = new LockQueue(empty());
  lock.admit(ask('a'));
  lock.admit(ask('b'));
  lock.release('b#1', 9_999);
  lock.release('zzz#1', 9_999);
  expect(lock.state).toMatchObject({ holder: ask('a'), queue: [], notBefore: 0 });
});

test('a newer ask of the same run replaces its older one (a run asks again after a pause)', () => {
  const lock = new LockQueue(empty());
  lock.admit(ask('a'));
  lock.admit(ask('b', 1));
  lock.admit(ask('c'));
  lock.admit(ask('b', 2));
  expect(lock.state.queue).toEqual([ask('c'), ask('b', 2)]);
});

test('a grant meant for a vanished run is forgotten; the next release time only moves forward', () => {
  const lock = new LockQueue(empty());
  lock.admit(ask('a'));
  lock.release('a#1', 5_000);
  lock.admit(ask('b'));
  lock.forget(ask('b'), 3_000);
  expect(lock.holder).toBeUndefined();
  expect(lock.state.notBefore).toBe(5_000);
  // forget() of a ticket that is no longer the holder is a no-op.
  lock.admit(ask('c'));
  lock.forget(ask('b'), 99_000);
  expect(lock.state).toMatchObject({ holder: ask('c'), notBefore: 5_000 });
});
