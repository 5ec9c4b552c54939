import type { LockQueueState } from '@lockkeys/contracts';
import { LockBook } from './lock-book';

const book = (over: Partial<LockQueueState> = {}) =>
  new LockBook({ lockId: 1, entries: [], timing: { releasedAt: 0, notBefore: 0 }, ...over });
const request = (instanceId: string, over: { startBy?: number; requestHash?: string; nonce?: string } = {}) => ({
  instanceId,
  startBy: 1_000,
  requestHash: `hash-${instanceId}`,
  nonce: `nonce-${instanceId}`,
  ...over,
});
const places = (b: LockBook) => b.entries.map((e) => `${e.instanceId}:${e.place}`);

describe('admission', () => {
  test('the first run of an idle lock holds it at once; the next ones queue in acceptance order', () => {
    const b = book();
    expect(b.admit(request('a'), 't-a').place).toBe('holding');
    b.admit(request('b'), 't-b');
    b.admit(request('c'), 't-c');
    expect(places(b)).toEqual(['a:holding', 'b:queued', 'c:queued']);
    expect(b.entries.map((e) => b.ahead(e))).toEqual([0, 1, 2]);
  });

  test('the bound: full at maxActiveRuns, whatever places they have; a known instanceId is answered as it stands', () => {
    const b = book();
    for (const id of ['a', 'b', 'c']) b.admit(request(id), `t-${id}`);
    b.pause('b', 't-b', 0);
    expect(b.check({ instanceId: 'd', maxActiveRuns: 3, acceptBy: 10 }, 5)).toEqual({ kind: 'full', limit: 3 });
    expect(b.check({ instanceId: 'd', maxActiveRuns: 4, acceptBy: 10 }, 5)).toEqual({ kind: 'new' });
    // A retried POST of an admitted run, on a full lock and after its deadline: still its place.
    expect(b.check({ instanceId: 'b', maxActiveRuns: 3, acceptBy: 1 }, 5)).toMatchObject({ kind: 'known' });
  });

  test('a request the lock gets to after its acceptBy is refused', () => {
    expect(book().check({ instanceId: 'a', maxActiveRuns: 20, acceptBy: 100 }, 101)).toEqual({ kind: 'expired' });
    expect(book().check({ instanceId: 'a', maxActiveRuns: 20, acceptBy: 100 }, 100)).toEqual({ kind: 'new' });
  });

  test('admitting a known instanceId keeps its place and ticket, and stretches its start window', () => {
    const b = book();
    b.admit(request('a', { startBy: 1_000 }), 't-a');
    b.admit(request('b'), 't-b');
    const again = b.admit(request('b', { startBy: 5_000, nonce: 'other' }), 't-new');
    expect(again).toMatchObject({ ticket: 't-b', place: 'queued', startBy: 5_000, nonce: 'nonce-b' });
    expect(b.entries).toHaveLength(2);
  });

  test('a new run queues behind a waiting one even while nobody holds the lock (its grant is on its way)', () => {
    const b = book();
    b.admit(request('a'), 't-a');
    b.admit(request('b'), 't-b');
    b.remove('a', { at: 0 });
    b.admit(request('c'), 't-c');
    expect(places(b)).toEqual(['b:queued', 'c:queued']);
    expect(b.grantNext()?.instanceId).toBe('b');
  });
});

describe('grants and releases', () => {
  test('grants go strictly in acceptance order, one holder at a time', () => {
    const b = book();
    for (const id of ['a', 'b', 'c']) b.admit(request(id), `t-${id}`);
    expect(b.grantNext()).toBeUndefined(); // a holds it
    b.remove('a', { at: 100 });
    expect(b.grantNext()?.instanceId).toBe('b');
    expect(b.grantNext()).toBeUndefined();
    b.remove('b', { at: 200 });
    expect(b.grantNext()?.instanceId).toBe('c');
    expect(b.timing.releasedAt).toBe(200);
  });

  test('the release time only grows, and only a holder moves it; a vanished holder sets a bound of its own', () => {
    const b = book({ timing: { releasedAt: 500, notBefore: 0 } });
    b.admit(request('a'), 't-a');
    b.admit(request('b'), 't-b');
    b.admit(request('c'), 't-c');
    b.remove('a', { at: 300 });
    expect(b.timing).toEqual({ releasedAt: 500, notBefore: 0 });
    b.remove('c', { at: 900 }); // c was queued: it never sent
    expect(b.timing).toEqual({ releasedAt: 500, notBefore: 0 });
    b.grantNext();
    b.remove('b', { notBefore: 7_000 }); // b vanished holding the lock (terminated)
    expect(b.timing).toEqual({ releasedAt: 500, notBefore: 7_000 });
  });

  test('a queued run that closes (cancelled) leaves the queue without touching the lock', () => {
    const b = book();
    for (const id of ['a', 'b', 'c']) b.admit(request(id), `t-${id}`);
    b.remove('b', { at: 10_000 });
    expect(places(b)).toEqual(['a:holding', 'c:queued']);
    expect(b.timing.releasedAt).toBe(0);
    b.remove('a', { at: 50 });
    expect(b.grantNext()?.instanceId).toBe('c');
  });

  test('removing an unknown run changes nothing', () => {
    const b = book();
    b.admit(request('a'), 't-a');
    expect(b.remove('zzz', { at: 1_000 })).toBeUndefined();
    expect(places(b)).toEqual(['a:holding']);
    expect(b.timing.releasedAt).toBe(0);
  });
});

describe('pause and resume', () => {
  test('a paused holder frees the lock but keeps its slot; resumed, it queues at the end with its new ticket', () => {
    const b = book();
    for (const id of ['a', 'b', 'c']) b.admit(request(id), `t-${id}`);
    b.pause('a', 't-a', 700);
    expect(b.timing.releasedAt).toBe(700);
    expect(b.grantNext()?.instanceId).toBe('b');
    b.resume({ ...request('a'), ticket: 't-a2' });
    expect(places(b)).toEqual(['b:holding', 'c:queued', 'a:queued']);
    expect(b.find('a')?.ticket).toBe('t-a2');
    expect(b.check({ instanceId: 'd', maxActiveRuns: 3, acceptBy: 10 }, 0)).toMatchObject({ kind: 'full' });
  });

  test('a pause naming an old ticket is stale and changes nothing; resuming a run that is not paused neither', () => {
    const b = book();
    b.admit(request('a'), 't-a');
    b.pause('a', 't-old', 999);
    expect(places(b)).toEqual(['a:holding']);
    expect(b.timing.releasedAt).toBe(0);
    b.resume({ ...request('a'), ticket: 't-x' });
    expect(b.find('a')).toMatchObject({ ticket: 't-a', place: 'holding' });
  });

  test('a queued run that pauses leaves the queue in place; pausing twice is once', () => {
    const b = book();
    for (const id of ['a', 'b', 'c']) b.admit(request(id), `t-${id}`);
    b.pause('b', 't-b', 5_000);
    b.pause('b', 't-b', 9_000);
    expect(b.timing.releasedAt).toBe(0);
    b.remove('a', { at: 10 });
    expect(b.grantNext()?.instanceId).toBe('c');
  });

  test('a resume from a run the book does not know takes it back in, beyond the bound', () => {
    const b = book();
    b.admit(request('a'), 't-a');
    b.resume({ instanceId: 'lost', ticket: 't-l', startBy: 0, requestHash: '', nonce: '' });
    expect(places(b)).toEqual(['a:holding', 'lost:queued']);
  });
});

test('the state is all there is: a book over carried state goes on where the other stopped (continue-as-new)', () => {
  const b = book();
  for (const id of ['a', 'b', 'c']) b.admit(request(id), `t-${id}`);
  b.pause('b', 't-b', 0);
  const carried = new LockBook(structuredClone(b.state));
  carried.remove('a', { at: 400 });
  expect(carried.grantNext()?.instanceId).toBe('c');
  expect(carried.timing.releasedAt).toBe(400);
  expect(places(carried)).toEqual(['b:paused', 'c:holding']);
});
