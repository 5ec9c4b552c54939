import { UNAUTHORIZED_BODY } from '@lockkeys/contracts';
import { mintJwt, startStack, type Stack } from '@lockkeys/dev-stack';
import { DEV_API_KEY, DEV_JWT_SECRET } from '@lockkeys/contracts';
import { Client, Connection } from '@temporalio/client';
import { eventually, freePorts, journal, LOCK_TOKEN, ROOT_DIR, scratchDir } from './harness';

/** The gateway over HTTP with the real worker, simulator and Temporal dev server behind it. */
let stack: Stack;
let ports: Awaited<ReturnType<typeof freePorts>>;
let connection: Connection;
let client: Client;
const printed: string[] = [];

beforeAll(async () => {
  stack = await startStack({
    rootDir: ROOT_DIR,
    dataDir: scratchDir('api'),
    ports: (ports = await freePorts()),
    env: { KEY_COMMAND_GAP_MS: '1000', LOG_LEVEL: 'warn' },
    print: (name, line) => printed.push(`[${name}] ${line}`),
  });
  connection = await Connection.connect({ address: stack.temporalAddress });
  client = new Client({ connection });
});

afterAll(async () => {
  await connection?.close();
  await stack?.stop();
});

const jwt = mintJwt(DEV_JWT_SECRET, { sub: 'e2e', org: 'dev' });
const headers = (over: Record<string, string | undefined> = {}) =>
  Object.fromEntries(
    Object.entries({
      authorization: `Bearer ${jwt}`,
      'x-api-key': DEV_API_KEY,
      'content-type': 'application/json',
      ...over,
    }).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
const keysFor = (lockId: number, indexes: number[]) =>
  indexes.map((i) => ({ keyUuid: `e2e-${lockId}-${i}`, keyIndexNumber: i, userId: `user-${i}` }));

async function post(path: string, body: unknown, requestHeaders = headers()) {
  const response = await fetch(`${stack.gatewayUrl}${path}`, {
    method: 'POST',
    headers: requestHeaders,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

async function runsOfLock(lockId: number): Promise<number> {
  return (await client.workflow.count(`LockId = ${lockId}`)).count;
}

describe('rejected requests start nothing', () => {
  const goodBody = { keys: keysFor(301, [1]) };
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
    const response = await post(path, body, headers(over));
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
    const response = await post(path, body);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'Bad Request', code: 400 });
    expect((response.body.details as { path: string }[]).map((d) => d.path)).toContain(firstPath);
  });

  test('no run exists for any of the rejected locks', async () => {
    expect(await runsOfLock(301)).toBe(0);
    expect(await runsOfLock(302)).toBe(0);
  });
});

test('a key whose slot holds another key fails (409 at the lock); the others are added, the run completes', async () => {
  // Someone else's key already sits in slot 2 of lock 303.
  const seeded = await fetch(`${stack.simulatorUrl}/locks/303/keys/2`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${LOCK_TOKEN}`,
      'content-type': 'application/json',
      'idempotency-key': 'someone-else',
    },
    body: JSON.stringify({ keyUuid: 'someone-else', userId: 'other' }),
  });
  expect(seeded.status).toBe(201);
  await new Promise((r) => setTimeout(r, 1_000)); // the simulator's own gap since that command

  const accepted = await post('/locks/303/BulkAddKeys', { keys: keysFor(303, [1, 2, 3]) });
  expect(accepted.status).toBe(202);
  const result = (await client.workflow.getHandle(accepted.body.instanceId as string).result()) as {
    keys: { status: string; error: { type: string } | null }[];
  };
  expect(result.keys.map((k) => k.status)).toEqual(['added', 'failed', 'added']);
  expect(result.keys[1]!.error?.type).toBe('SlotOccupied');
  const commands = await journal(stack.simulatorUrl, 303);
  expect(commands.slice(1).map((c) => c.status)).toEqual([201, 409, 201]);
  expect(await runsOfLock(303)).toBe(1);

  // The worker's Prometheus exporter: the SDK's metrics and ours.
  const metrics = await (await fetch(`http://127.0.0.1:${ports.workerMetrics}/metrics`)).text();
  expect(metrics).toMatch(/lockkeys_keys_added\{[^}]*\} [1-9]/);
  expect(metrics).toMatch(/lockkeys_keys_failed\{[^}]*reason="SlotOccupied"[^}]*\} 1/);
  expect(metrics).toMatch(/lockkeys_lock_commands\{[^}]*answer="SlotOccupied"/);
  expect(metrics).toMatch(/lockkeys_command_gap_bucket/);
  expect(metrics).toMatch(/temporal_activity_schedule_to_start_latency/);
});

test('the run carries LockId and is found by it in Temporal', async () => {
  const accepted = await post('/locks/304/BulkAddKeys', { keys: keysFor(304, [5]) });
  expect(accepted.status).toBe(202);
  const instanceId = accepted.body.instanceId as string;
  const description = await client.workflow.getHandle(instanceId).describe();
  expect(description.type).toBe('bulkAddKeys');
  expect(description.taskQueue).toBe('lock-keys');
  await eventually(
    async () => ((await runsOfLock(304)) === 1 ? true : undefined),
    10_000,
    'LockId = 304 to be visible',
  );
});
