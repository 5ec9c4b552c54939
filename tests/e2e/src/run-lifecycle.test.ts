import {
  expectStatus,
  journalGaps,
  keysFor,
  TestStack,
  type GatewayClient,
  type SimulatorClient,
} from '@lockkeys/testing';
import type { Client } from '@temporalio/client';
import { runsOfLock } from './lock-admission';

/** Status, cancel, idempotent starts and per-lock ordering, over HTTP with the real stack. */
/** A short admission deadline, so the POST with no worker to admit it is refused within the test. */
const ADMISSION_TIMEOUT_MS = 8_000;
const stack = TestStack.forSuite({ name: 'lifecycle', env: { ADMISSION_TIMEOUT_MS: String(ADMISSION_TIMEOUT_MS) } });
let temporal: Client;
let api: GatewayClient;
let simulator: SimulatorClient;

beforeAll(async () => {
  temporal = await stack.temporalClient();
  ({ gateway: api, simulator } = stack);
});

const completed = (lockId: number, instanceId: string) =>
  api.waitForRun(lockId, instanceId, {
    until: (run) => run.status === 'complete',
    timeoutMs: 30_000,
    what: `run ${instanceId} to complete`,
  });

test('status mid-run shows added and pending keys; after the run, the result', async () => {
  const accepted = await api.startRun(501, keysFor(501, [1, 2, 3]));
  const mid = await api.waitForRun(501, accepted.instanceId, {
    until: (run) => run.summary.added >= 1 && run.summary.pending >= 1,
    timeoutMs: 10_000,
    what: 'a run with some keys added and some pending',
  });
  expect(mid).toMatchObject({ instanceId: accepted.instanceId, lockId: 501, status: 'running', closedAt: null });
  expect(mid.keys[0]).toMatchObject({
    keyUuid: 'k-501-1',
    keyIndexNumber: 1,
    userId: 'user-1',
    status: 'added',
    attempts: 1,
    error: null,
  });
  expect(mid.keys[2]!.status).toBe('pending');
  expect(Date.parse(mid.createdAt)).not.toBeNaN();

  const done = await completed(501, accepted.instanceId);
  expect(done.summary).toEqual({ total: 3, added: 3, failed: 0, pending: 0, cancelled: 0 });
  expect(Date.parse(done.closedAt!)).toBeGreaterThanOrEqual(Date.parse(done.createdAt));
});

test("another lock's or an unknown run is 404", async () => {
  const { instanceId } = await api.startRun(502, keysFor(502, [1]));
  expect((await api.status(503, instanceId)).status).toBe(404);
  expect((await api.status(502, 'lock-502-00000000-0000-4000-8000-000000000000')).status).toBe(404);
  expect((await api.status(502, 'lock-502')).status).toBe(404);
  expect((await api.cancel(503, instanceId)).status).toBe(404);
  await completed(502, instanceId);
});

test('cancel mid-run: 202 with the status body, the rest cancelled, the run cancelled; again → 409', async () => {
  const { instanceId } = await api.startRun(504, keysFor(504, [1, 2, 3, 4]));
  await api.waitForRun(504, instanceId, {
    until: (run) => run.summary.added >= 1,
    timeoutMs: 10_000,
    what: 'the first key',
  });
  const cancel = await api.cancel(504, instanceId);
  expect(cancel.status).toBe(202);
  expect(cancel.body).toMatchObject({ instanceId, lockId: 504 });
  const after = await api.waitForRun(504, instanceId, {
    until: (run) => run.status === 'cancelled',
    timeoutMs: 10_000,
    what: 'the run to be cancelled',
  });
  expect(after.summary.cancelled).toBeGreaterThanOrEqual(1);
  expect(after.summary.pending).toBe(0);
  expect(after.summary.added + after.summary.cancelled).toBe(4);
  const sent = (await simulator.journal(504)).length;
  expect(sent).toBe(after.summary.added);

  const again = await api.cancel(504, instanceId);
  expect(again.status).toBe(409);
  expect(again.body).toMatchObject({ error: 'Conflict', code: 409 });
});

test('Idempotency-Key: two identical POSTs at once give one run; another body → 409; after the run → the same run', async () => {
  const keys = keysFor(505, [1, 2]);
  const idempotency = { 'idempotency-key': 'order-505-a' };
  const [a, b] = await Promise.all([api.bulkAddKeys(505, keys, idempotency), api.bulkAddKeys(505, keys, idempotency)]);
  expect([a.status, b.status]).toEqual([202, 202]);
  const first = expectStatus(a, 202);
  expect(expectStatus(b, 202).instanceId).toBe(first.instanceId);
  expect([a.headers['idempotent-replayed'], b.headers['idempotent-replayed']]).toEqual(
    expect.arrayContaining(['true', undefined]),
  );
  expect(a.headers.location).toBe(b.headers.location);

  const other = await api.bulkAddKeys(505, keysFor(505, [3]), idempotency);
  expect(other.status).toBe(409);
  expect(other.body).toMatchObject({ error: 'Conflict', code: 409 });

  await completed(505, first.instanceId);
  const later = await api.bulkAddKeys(505, keys, idempotency);
  expect(later.status).toBe(202);
  expect(expectStatus(later, 202).instanceId).toBe(first.instanceId);
  expect(later.headers['idempotent-replayed']).toBe('true');
  expect(await runsOfLock(temporal, 505)).toBe(1);
  expect((await simulator.journal(505)).map((c) => c.keyUuid)).toEqual(['k-505-1', 'k-505-2']);
});

test('three runs posted at once on one lock never come closer than the gap; another lock is unaffected', async () => {
  const posted = await Promise.all([
    ...[0, 1, 2].map((run) => api.bulkAddKeys(506, keysFor(506, [run * 10, run * 10 + 1]))),
    api.bulkAddKeys(507, keysFor(507, [1, 2])),
  ]);
  expect(posted.map((p) => p.status)).toEqual([202, 202, 202, 202]);
  const postedAt = Date.now();
  await Promise.all(posted.map((p, i) => completed(i < 3 ? 506 : 507, expectStatus(p, 202).instanceId)));

  const onLock = await simulator.journal(506);
  expect(onLock.map((c) => c.status)).toEqual(Array(6).fill(201));
  for (const gap of journalGaps(onLock)) expect(gap).toBeGreaterThanOrEqual(1_000);
  const runOf = onLock.map((c) => Math.floor(c.keyIndexNumber / 10));
  expect(runOf.filter((run, i) => i === 0 || run !== runOf[i - 1])).toHaveLength(3); // no interleaving

  const other = await simulator.journal(507);
  expect(other).toHaveLength(2);
  // Lock 507 did not queue behind lock 506 (whose six commands take over 5 s).
  expect(other[1]!.at - postedAt).toBeLessThan(3_000);
});

test('a POST while no worker runs is 503 after ADMISSION_TIMEOUT_MS and starts nothing; with a worker back, 202', async () => {
  await stack.services.worker!.stop();
  const sentAt = Date.now();
  const refused = await api.bulkAddKeys(508, keysFor(508, [1, 2]));
  const tookMs = Date.now() - sentAt;
  // Nobody admits it: the gateway gives up at its deadline, and the lock refuses it should it get to it later.
  expect(refused.status).toBe(503);
  expect(refused.headers['retry-after']).toBe('5');
  expect(tookMs).toBeGreaterThanOrEqual(ADMISSION_TIMEOUT_MS - 1_500);
  await stack.start('worker');
  const { instanceId } = await api.startRun(508, keysFor(508, [1, 2]));
  const done = await completed(508, instanceId);
  expect(done.summary.added).toBe(2);
  // The refused POST never became a run, even once a worker came: only the second one is there.
  expect(await runsOfLock(temporal, 508)).toBe(1);
  expect((await simulator.journal(508)).map((c) => c.status)).toEqual([201, 201]);
});
