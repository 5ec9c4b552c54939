import {
  type JournalEntry,
  type LockJournalBody,
  lockJournalBodySchema,
  type LockSlotsBody,
  lockSlotsBodySchema,
} from '@lockkeys/contracts';
import { type RunningSimulator, startSimulator, type StartSimulatorOptions } from './server';

const TOKEN = 'test-lock-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };

async function start(options: StartSimulatorOptions = {}): Promise<RunningSimulator> {
  return startSimulator({ port: 0, dbPath: ':memory:', token: TOKEN, minGapMs: 0, logLevel: 'silent', ...options });
}

interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
}

async function call(
  sim: RunningSimulator,
  method: string,
  path: string,
  init: { body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...AUTH, ...init.headers };
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${sim.url}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

/** Sends one add-key command the way the activities client does. */
function addKey(sim: RunningSimulator, lockId: number | string, keyIndexNumber: number | string, keyUuid: string) {
  return call(sim, 'PUT', `/locks/${lockId}/keys/${keyIndexNumber}`, {
    body: { keyUuid, userId: `user-of-${keyUuid}` },
    headers: { 'idempotency-key': keyUuid },
  });
}

/** The lock's journal, checked against the contract's schema (the body itself is returned, nothing stripped). */
async function journal(sim: RunningSimulator, lockId: number): Promise<JournalEntry[]> {
  const reply = await call(sim, 'GET', `/locks/${lockId}/commands`);
  lockJournalBodySchema.parse(reply.body);
  return (reply.body as LockJournalBody).commands;
}

const errorShape = (code: number) => ({ error: expect.any(String), message: expect.any(String), code });

describe('PUT /locks/{lockId}/keys/{keyIndexNumber}', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await start({ lockCount: 50, slotCount: 10, faults: { offlineLocks: [42] } });
  });
  afterAll(() => sim.close());

  // Each row runs on its own lock, so rows cannot disturb each other.
  it.each([
    { name: '201 for an empty slot', lockId: 1, before: [], index: 3, keyUuid: 'k-new', status: 201 },
    {
      name: '200 for a replay of the same key',
      lockId: 2,
      before: [[3, 'k-same']],
      index: 3,
      keyUuid: 'k-same',
      status: 200,
    },
    {
      name: '409 when the slot holds another key',
      lockId: 3,
      before: [[3, 'k-first']],
      index: 3,
      keyUuid: 'k-other',
      status: 409,
    },
    { name: '404 for a lock id above the lock count', lockId: 51, before: [], index: 3, keyUuid: 'k', status: 404 },
    { name: '422 for the index equal to the slot count', lockId: 4, before: [], index: 10, keyUuid: 'k', status: 422 },
    { name: '422 for a negative index', lockId: 5, before: [], index: -1, keyUuid: 'k', status: 422 },
    { name: '503 for an offline lock', lockId: 42, before: [], index: 3, keyUuid: 'k', status: 503 },
    { name: '404 before 422 (unknown lock, bad index)', lockId: 99, before: [], index: 10, keyUuid: 'k', status: 404 },
    { name: '503 before 422 (offline lock, bad index)', lockId: 42, before: [], index: 10, keyUuid: 'k', status: 503 },
    {
      name: '422 before 409 (bad index wins over slot state)',
      lockId: 6,
      before: [[3, 'a']],
      index: 11,
      keyUuid: 'b',
      status: 422,
    },
  ] as const)('$name', async ({ lockId, before, index, keyUuid, status }) => {
    for (const [priorIndex, priorUuid] of before)
      expect((await addKey(sim, lockId, priorIndex, priorUuid)).status).toBe(201);

    const reply = await addKey(sim, lockId, index, keyUuid);

    expect(reply.status).toBe(status);
    if (status === 201 || status === 200) {
      expect(reply.body).toEqual({
        lockId,
        keyIndexNumber: index,
        keyUuid,
        userId: `user-of-${keyUuid}`,
        addedAt: expect.any(Number),
      });
    } else {
      expect(reply.body).toEqual(errorShape(status));
    }
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    const last = (await journal(sim, lockId)).at(-1);
    expect(last).toMatchObject({ keyIndexNumber: index, keyUuid, status });
  });

  it('keeps the first key when a conflicting one is refused', async () => {
    await addKey(sim, 7, 0, 'owner');
    await addKey(sim, 7, 0, 'intruder');
    const keys = await call(sim, 'GET', '/locks/7/keys');
    expect(keys.body).toEqual({
      lockId: 7,
      keys: [{ keyIndexNumber: 0, keyUuid: 'owner', userId: 'user-of-owner', addedAt: expect.any(Number) }],
    });
  });

  const body = { keyUuid: 'k-1', userId: 'u-1' };
  const json = { 'content-type': 'application/json' };
  type BadRequestRow = {
    name: string;
    path: string;
    body?: unknown;
    rawBody?: string;
    headers: Record<string, string>;
  };
  it.each<BadRequestRow>([
    {
      name: 'malformed JSON',
      path: '/locks/8/keys/1',
      rawBody: '{"keyUuid":',
      headers: { ...json, 'idempotency-key': 'k-1' },
    },
    {
      name: 'a JSON array body',
      path: '/locks/8/keys/1',
      rawBody: '[]',
      headers: { ...json, 'idempotency-key': 'k-1' },
    },
    {
      name: 'a text/plain body',
      path: '/locks/8/keys/1',
      rawBody: JSON.stringify(body),
      headers: { 'idempotency-key': 'k-1', 'content-type': 'text/plain' },
    },
    { name: 'no body', path: '/locks/8/keys/1', headers: { 'idempotency-key': 'k-1' } },
    {
      name: 'missing keyUuid',
      path: '/locks/8/keys/1',
      body: { userId: 'u-1' },
      headers: { 'idempotency-key': 'k-1' },
    },
    {
      name: 'empty keyUuid',
      path: '/locks/8/keys/1',
      body: { keyUuid: '', userId: 'u-1' },
      headers: { 'idempotency-key': 'k-1' },
    },
    {
      name: 'numeric userId',
      path: '/locks/8/keys/1',
      body: { keyUuid: 'k-1', userId: 7 },
      headers: { 'idempotency-key': 'k-1' },
    },
    {
      name: 'keyUuid with a control character',
      path: '/locks/8/keys/1',
      body: { keyUuid: 'k\n1', userId: 'u-1' },
      headers: { 'idempotency-key': 'k-1' },
    },
    { name: 'missing Idempotency-Key', path: '/locks/8/keys/1', body, headers: {} },
    {
      name: 'Idempotency-Key not equal to keyUuid',
      path: '/locks/8/keys/1',
      body,
      headers: { 'idempotency-key': 'k-2' },
    },
    { name: 'non-numeric index', path: '/locks/8/keys/abc', body, headers: { 'idempotency-key': 'k-1' } },
    { name: 'fractional index', path: '/locks/8/keys/1.5', body, headers: { 'idempotency-key': 'k-1' } },
    { name: 'lockId 0', path: '/locks/0/keys/1', body, headers: { 'idempotency-key': 'k-1' } },
    { name: 'non-numeric lockId', path: '/locks/abc/keys/1', body, headers: { 'idempotency-key': 'k-1' } },
  ])('400 for $name, and nothing reaches the lock', async ({ path, body: jsonBody, rawBody, headers }) => {
    const reply = await call(sim, 'PUT', path, { body: jsonBody, rawBody, headers });

    expect(reply.status).toBe(400);
    expect(reply.body).toEqual(expect.objectContaining(errorShape(400)));
    expect(JSON.stringify(reply.body)).not.toMatch(/at .*\.(js|ts):\d+/);
    expect(await journal(sim, 8)).toEqual([]);
  });

  it('answers 400 with details naming the bad field', async () => {
    const reply = await call(sim, 'PUT', '/locks/8/keys/1', {
      body: { userId: 'u' },
      headers: { 'idempotency-key': 'x' },
    });
    expect(reply.body).toMatchObject({
      code: 400,
      details: [{ path: 'body.keyUuid', message: 'keyUuid is required' }],
    });
  });
});

describe('authentication', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await start();
  });
  afterAll(() => sim.close());

  const unauthorized = {
    error: 'Unauthorized',
    message: 'Authentication required. Please provide a valid API token',
    code: 401,
  };

  it.each([
    { name: 'no Authorization header', authorization: undefined },
    { name: 'a wrong token', authorization: 'Bearer not-the-token' },
    { name: 'the token without Bearer', authorization: TOKEN },
    { name: 'Basic auth', authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
    { name: 'an empty Bearer token', authorization: 'Bearer ' },
  ])('401 for $name on every endpoint but /healthz', async ({ authorization }) => {
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    const requests: [string, string, string | undefined][] = [
      ['PUT', '/locks/1/keys/1', JSON.stringify({ keyUuid: 'k', userId: 'u' })],
      ['PUT', '/locks/1/keys/1', '{not json'],
      ['GET', '/locks/1/keys', undefined],
      ['GET', '/locks/1/commands', undefined],
      ['DELETE', '/locks/1', undefined],
      ['GET', '/faults', undefined],
      ['PUT', '/faults', JSON.stringify({ failureRate: 1 })],
      ['GET', '/no-such-route', undefined],
    ];
    for (const [method, path, body] of requests) {
      const response = await fetch(`${sim.url}${path}`, {
        method,
        body,
        headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': 'k' },
      });
      expect({ method, path, status: response.status, body: await response.json() }).toEqual({
        method,
        path,
        status: 401,
        body: unauthorized,
      });
    }
    expect(await journal(sim, 1)).toEqual([]);
    expect((await call(sim, 'GET', '/faults')).body).toMatchObject({ failureRate: 0 });
  });

  it('serves /healthz without a token, unknown routes as JSON 404, and hides x-powered-by', async () => {
    const health = await fetch(`${sim.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    expect(health.headers.get('x-powered-by')).toBeNull();

    const unknown = await call(sim, 'GET', '/locks/1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(errorShape(404));
    expect(unknown.headers.get('x-powered-by')).toBeNull();
  });
});

describe('journal, slots and reset', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await start({ lockCount: 20, slotCount: 5 });
  });
  afterAll(() => sim.close());

  it('journals every command that reaches the lock, in receive order, with its status', async () => {
    const sent: [number, string, number][] = [
      [2, 'a', 201],
      [2, 'a', 200],
      [2, 'b', 409],
      [9, 'c', 422],
      [0, 'd', 201],
    ];
    for (const [index, keyUuid, status] of sent) expect((await addKey(sim, 11, index, keyUuid)).status).toBe(status);
    await call(sim, 'PUT', '/locks/11/keys/x', { body: { keyUuid: 'e', userId: 'u' } }); // 400: never journaled

    const commands = await journal(sim, 11);
    expect(commands.map(({ keyIndexNumber, keyUuid, status }) => [keyIndexNumber, keyUuid, status])).toEqual(sent);
    const times = commands.map((command) => command.at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(commands.every((command) => !('dropped' in command))).toBe(true);

    const since = await call(sim, 'GET', `/locks/11/commands?since=${(times[4] ?? 0) + 1}`);
    expect(since.body).toEqual({ lockId: 11, commands: [] });
    const fromStart = await call(sim, 'GET', `/locks/11/commands?since=${times[0] ?? 0}`);
    expect((fromStart.body as LockJournalBody).commands).toHaveLength(5);
    expect((await call(sim, 'GET', '/locks/11/commands?since=yesterday')).status).toBe(400);

    const keys = await call(sim, 'GET', '/locks/11/keys');
    lockSlotsBodySchema.parse(keys.body);
    expect((keys.body as LockSlotsBody).keys).toEqual([
      expect.objectContaining({ keyIndexNumber: 0, keyUuid: 'd', userId: 'user-of-d' }),
      expect.objectContaining({ keyIndexNumber: 2, keyUuid: 'a', userId: 'user-of-a' }),
    ]);
  });

  it('journals 404 commands of unknown locks, and GET keys of an unknown lock is 404', async () => {
    expect((await addKey(sim, 21, 0, 'ghost')).status).toBe(404);
    expect(await journal(sim, 21)).toEqual([
      { at: expect.any(Number), keyIndexNumber: 0, keyUuid: 'ghost', status: 404 },
    ]);
    const keys = await call(sim, 'GET', '/locks/21/keys');
    expect(keys.status).toBe(404);
    expect(keys.body).toEqual(errorShape(404));
  });

  it('DELETE /locks/{lockId} empties one lock and leaves the others', async () => {
    await addKey(sim, 12, 1, 'twelve');
    await addKey(sim, 13, 1, 'thirteen');

    const reset = await call(sim, 'DELETE', '/locks/12');
    expect(reset.body).toEqual({ lockId: 12, removedKeys: 1, removedCommands: 1 });

    expect((await call(sim, 'GET', '/locks/12/keys')).body).toEqual({ lockId: 12, keys: [] });
    expect(await journal(sim, 12)).toEqual([]);
    expect(await journal(sim, 13)).toHaveLength(1);
    expect((await addKey(sim, 12, 1, 'other')).status).toBe(201);
  });
});

describe('minimum gap between commands (429)', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await start({ minGapMs: 200, slotCount: 5 });
  });
  afterAll(() => sim.close());

  it('answers 429 with Retry-After to a command sooner than minGapMs, and 201 after waiting', async () => {
    expect((await addKey(sim, 1, 0, 'first')).status).toBe(201);

    const tooSoon = await addKey(sim, 1, 1, 'second');
    expect(tooSoon.status).toBe(429);
    expect(tooSoon.headers.get('retry-after')).toBe('1');
    expect(tooSoon.body).toEqual(errorShape(429));
    expect((await addKey(sim, 2, 0, 'other-lock')).status).toBe(201);

    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await addKey(sim, 1, 1, 'second')).status).toBe(201);
    expect((await journal(sim, 1)).map((command) => command.status)).toEqual([201, 429, 201]);
  });

  it('counts a refused command as the previous one, and checks the gap before the index range', async () => {
    expect((await addKey(sim, 3, 0, 'a')).status).toBe(201);
    expect((await addKey(sim, 3, 99, 'b')).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await addKey(sim, 3, 99, 'b')).status).toBe(422);
    expect((await addKey(sim, 3, 1, 'c')).status).toBe(429);
  });

  it('lets only one of two simultaneous commands to the same lock through', async () => {
    const replies = await Promise.all([addKey(sim, 4, 0, 'x'), addKey(sim, 4, 1, 'y')]);
    expect(replies.map((reply) => reply.status).sort()).toEqual([201, 429]);
  });
});
