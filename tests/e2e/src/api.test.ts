import { UNAUTHORIZED_BODY, type ErrorBody } from '@lockkeys/contracts';
import { mintJwt } from '@lockkeys/dev-stack';
import { eventually, keysFor, sleep, TestStack } from '@lockkeys/testing';
import type { Client } from '@temporalio/client';
import { runsOfLock } from './lock-admission';

/** The gateway over HTTP with the real worker, simulator and Temporal dev server behind it. */
const stack = TestStack.forSuite({ name: 'api', env: { KEY_COMMAND_GAP_MS: '1000' } });
let client: Client;

beforeAll(async () => {
  client = await stack.temporalClient();
});

/** A POST of `body` with the dev credentials unless `over` changes them: a request to be refused. */
async function refused(path: string, body: unknown, over: Record<string, string | undefined> = {}) {
  const answer = await stack.gateway.request({
    method: 'POST',
    path,
    headers: stack.gateway.headers(over),
    body: JSON.stringify(body),
  });
  return { status: answer.status, body: answer.body as ErrorBody };
}

/** The bulkAddKeys runs on `lockId` (the lock's own workflow carries `LockId` too). */
const runsOnLock = (lockId: number) => runsOfLock(client, lockId);

describe('rejected requests start nothing', () => {
  const goodBody = { keys: keysFor(301, [1], 'e2e') };
  test.each<[string, string, unknown, Record<string, string | undefined>]>([
    ['missing JWT', '/locks/301/BulkAddKeys', goodBody, { authorization: undefined }],
    [
      'bad JWT signature',
      '/locks/301/BulkAddKeys',
      goodBody,
      { authorization: `Bearer ${mintJwt('not-the-secret', { sub: 'x' })}` },
    ],
    ['missing API key', '/locks/301/BulkAddKeys', goodBody, { 'x-api-key': undefined }],
    ['unknown API key', '/locks/301/BulkAddKeys', goodBody, { 'x-api-key': 'lk_not_a_key' }],
  ])('%s → the exact SPEC 401 body', async (_name, path, body, over) => {
    const response = await refused(path, body, over);
    expect(response.status).toBe(401);
    expect(response.body).toEqual(UNAUTHORIZED_BODY);
  });

  test.each<[string, string, unknown, string]>([
    ['non-numeric lockId', '/locks/abc/BulkAddKeys', goodBody, 'lockId'],
    ['empty keys', '/locks/302/BulkAddKeys', { keys: [] }, 'keys'],
    [
      'wrong types',
      '/locks/302/BulkAddKeys',
      { keys: [{ keyUuid: 1, keyIndexNumber: 'one', userId: null }] },
      'keys.0.keyUuid',
    ],
  ])('%s → 400 with details', async (_name, path, body, firstPath) => {
    const response = await refused(path, body);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'Bad Request', code: 400 });
    expect(response.body.details!.map((d) => d.path)).toContain(firstPath);
  });

  test('no run exists for any of the rejected locks', async () => {
    expect(await runsOnLock(301)).toBe(0);
    expect(await runsOnLock(302)).toBe(0);
  });
});

test('a key whose slot holds another key fails (409 at the lock); the others are added, the run completes', async () => {
  // Someone else's key already sits in slot 2 of lock 303.
  const seeded = await stack.simulator.putKey(303, 2, { keyUuid: 'someone-else', userId: 'other' });
  expect(seeded.status).toBe(201);
  await sleep(1_000); // the simulator's own gap since that command

  const { instanceId } = await stack.gateway.startRun(303, keysFor(303, [1, 2, 3], 'e2e'));
  const result = (await client.workflow.getHandle(instanceId).result()) as {
    keys: { status: string; error: { type: string } | null }[];
  };
  expect(result.keys.map((k) => k.status)).toEqual(['added', 'failed', 'added']);
  expect(result.keys[1]!.error?.type).toBe('SlotOccupied');
  const commands = await stack.simulator.journal(303);
  expect(commands.slice(1).map((c) => c.status)).toEqual([201, 409, 201]);
  expect(await runsOnLock(303)).toBe(1);

  // The worker's Prometheus exporter: the SDK's metrics and ours.
  const metrics = await (await fetch(stack.workerMetricsUrl)).text();
  expect(metrics).toMatch(/lockkeys_keys_added\{[^}]*\} [1-9]/);
  expect(metrics).toMatch(/lockkeys_keys_failed\{[^}]*reason="SlotOccupied"[^}]*\} 1/);
  expect(metrics).toMatch(/lockkeys_lock_commands\{[^}]*answer="SlotOccupied"/);
  expect(metrics).toMatch(/lockkeys_command_gap_bucket/);
  // addKey runs as a local activity by default: its lock latency is the SDK's local-activity histogram.
  expect(metrics).toMatch(/temporal_local_activity_execution_latency/);
});

test('the run carries LockId and is found by it in Temporal', async () => {
  const { instanceId } = await stack.gateway.startRun(304, keysFor(304, [5], 'e2e'));
  const description = await client.workflow.getHandle(instanceId).describe();
  expect(description.type).toBe('bulkAddKeys');
  expect(description.taskQueue).toBe('lock-keys');
  await eventually(
    async () => ((await runsOnLock(304)) === 1 ? true : undefined),
    10_000,
    'LockId = 304 to be visible',
  );
});
