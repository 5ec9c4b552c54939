import { sign } from 'jsonwebtoken';
import {
  bulkAddKeysAcceptedSchema,
  DEV_API_KEY,
  DEV_JWT_SECRET,
  httpRoutes,
  methodsByPath,
  runListSchema,
  runStatusBodySchema,
  webhookListSchema,
  type OperationId,
  type ResponseDeclaration,
  type RunList,
} from '@lockkeys/contracts';
import type { z } from 'zod';
import { loadConfig } from './config';
import { TemporalUnavailableError, TooManyActiveRunsError } from './runs';
import { type RawAnswer, send } from '@lockkeys/testing';
import { configForSuite, gatewayPerTest, startGateway, type TestGateway } from './testing/gateway-harness';

const SECRET = 'gateway-test-secret-0123456789-abcdef';
const ACME_KEY = 'lk_test_acme_0000000000000000000001';
const GLOBEX_KEY = 'lk_test_globex_000000000000000000001';

const nowSeconds = () => Math.floor(Date.now() / 1000);
const jwtFor = (claims: object, secret = SECRET) => sign(claims, secret, { algorithm: 'HS256', expiresIn: '5m' });

const validKeys = [
  { keyUuid: 'uuid-a', keyIndexNumber: 1, userId: 'user-1' },
  { keyUuid: 'uuid-b', keyIndexNumber: 2, userId: 'user-2' },
];
const key = (i: number) => ({ keyUuid: `uuid-${i}`, keyIndexNumber: i, userId: `user-${i}` });

interface Call {
  method?: string;
  path?: string;
  /** Header overrides; `undefined` removes a default header. */
  headers?: Record<string, string | undefined>;
  /** An object is sent as JSON; a string as is; `null` sends no body. */
  body?: unknown;
}

/** A request with alice's valid credentials unless overridden; POST gets a valid body by default. */
function call(gateway: TestGateway, { method = 'POST', path = '/locks/123/BulkAddKeys', headers = {}, body }: Call) {
  const merged: Record<string, string | undefined> = {
    authorization: `Bearer ${jwtFor({ sub: 'alice' })}`,
    'x-api-key': ACME_KEY,
    'content-type': 'application/json',
    ...headers,
  };
  const sent = Object.fromEntries(
    Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const payload =
    body === null ? undefined : body === undefined ? (method === 'POST' ? { keys: validKeys } : undefined) : body;
  return send(gateway.port, {
    method,
    path,
    headers: sent,
    ...(payload !== undefined && { body: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
  });
}

const config = configForSuite(
  [
    { id: 'acme-1', key: ACME_KEY, orgId: 'acme', locks: [123, 124] },
    { id: 'globex-1', key: GLOBEX_KEY, orgId: 'globex', locks: '*' },
  ],
  { JWT_SECRET: SECRET },
);

const json = (answer: RawAnswer) => answer.body as Record<string, unknown>;

describe('POST /locks/:lockId/BulkAddKeys', () => {
  const gateway = gatewayPerTest(config);

  test('202 with Location, the instanceId, and the exact run input', async () => {
    const answer = await call(gateway, {});
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ success: true, lockId: 123, instanceId: 'lock-123-fake-1' });
    expect(answer.headers.location).toBe('/locks/123/BulkAddKeys/lock-123-fake-1');
    expect(answer.headers['idempotent-replayed']).toBeUndefined();
    expect(gateway.runs.started).toEqual([
      { input: { lockId: 123, orgId: 'acme', requestedBy: 'alice', keys: validKeys } },
    ]);
  });

  test('a matching org claim, a wildcard key, the largest lockId and 1000 keys are accepted', async () => {
    const lockId = Number.MAX_SAFE_INTEGER;
    const answer = await call(gateway, {
      path: `/locks/${lockId}/BulkAddKeys`,
      headers: {
        authorization: `Bearer ${jwtFor({ sub: 'bob', org: 'globex' })}`,
        'x-api-key': GLOBEX_KEY,
        'content-type': 'Application/JSON; charset="UTF-8"',
      },
      body: { keys: Array.from({ length: 1000 }, (_, i) => ({ ...key(i), keyIndexNumber: 65535 - i })) },
    });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ success: true, lockId, instanceId: `lock-${lockId}-fake-1` });
    expect(gateway.runs.started).toHaveLength(1);
    expect(gateway.runs.started[0]?.input).toMatchObject({ lockId, orgId: 'globex', requestedBy: 'bob' });
    expect(gateway.runs.started[0]?.input.keys).toHaveLength(1000);
  });

  test('a JWT expired within the 5 s clock tolerance is still accepted; the scheme is case-insensitive', async () => {
    const token = sign({ sub: 'alice', exp: nowSeconds() - 2 }, SECRET);
    const answer = await call(gateway, { headers: { authorization: `bearer ${token}` } });
    expect(answer.status).toBe(202);
  });

  test('Idempotency-Key: the same request is replayed, a different body is 409, another lock is a new run', async () => {
    const headers = { 'idempotency-key': 'order-42' };
    const first = await call(gateway, { headers });
    expect(first.status).toBe(202);
    expect(gateway.runs.started).toEqual([
      { input: expect.objectContaining({ lockId: 123 }), idempotencyKey: 'order-42' },
    ]);

    const replay = await call(gateway, { headers });
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.location).toBe(first.headers.location);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(gateway.runs.started).toHaveLength(1);

    const conflict = await call(gateway, { headers, body: { keys: [validKeys[0]] } });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toEqual({
      error: 'Conflict',
      message: 'Idempotency-Key was already used with a different request',
      code: 409,
    });

    const otherLock = await call(gateway, { headers, path: '/locks/124/BulkAddKeys' });
    expect(otherLock.status).toBe(202);
    expect(json(otherLock).instanceId).toBe('lock-124-fake-2');
    expect(gateway.runs.started).toHaveLength(2);
  });

  test('503 with the SPEC body when Temporal is unreachable, and the process keeps serving', async () => {
    gateway.runs.unavailable = true;
    const answer = await call(gateway, {});
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({
      error: 'Service Unavailable',
      message: 'The workflow service is unavailable; nothing was started or changed, please retry later',
      code: 503,
    });
    expect(answer.headers['retry-after']).toBe('5');
    expect((await call(gateway, { method: 'GET', path: '/healthz' })).status).toBe(200);
    gateway.runs.unavailable = false;
    expect((await call(gateway, {})).status).toBe(202);
  });

  test('500 without internals when the RunService fails unexpectedly', async () => {
    const failure = new Error('secret detail at /srv/internal.ts:42');
    gateway.runs.failure = failure;
    const answer = await call(gateway, {});
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ error: 'Internal Server Error', message: 'An unexpected error occurred', code: 500 });
    expect(answer.text).not.toContain('secret detail');
    expect(answer.text).not.toContain('internal.ts');
    expect(gateway.logs.join('\n')).toContain('secret detail');
  });
});

describe('GET /locks/:lockId/BulkAddKeys/:instanceId and POST .../cancel', () => {
  const gateway = gatewayPerTest(config);

  test("GET answers the status body of the caller's own run, asking with the caller's org", async () => {
    gateway.runs.seedRun('lock-123-run', { lockId: 123, orgId: 'acme', keys: [validKeys[0]!] });
    const answer = await call(gateway, { method: 'GET', path: '/locks/123/BulkAddKeys/lock-123-run' });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      instanceId: 'lock-123-run',
      lockId: 123,
      status: 'running',
      createdAt: '2025-01-01T00:00:00.000Z',
      closedAt: null,
      summary: { total: 1, added: 0, failed: 0, pending: 1, cancelled: 0 },
      keys: [{ ...validKeys[0], status: 'pending', attempts: 0, error: null }],
    });
    expect(gateway.runs.calls).toEqual([
      { method: 'status', ref: { instanceId: 'lock-123-run', lockId: 123, orgId: 'acme' } },
    ]);
  });

  test('the run a POST started is readable at its Location', async () => {
    const started = await call(gateway, {});
    const answer = await call(gateway, { method: 'GET', path: started.headers.location! });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ instanceId: 'lock-123-fake-1', lockId: 123, status: 'queued' });
  });

  test('cancel answers 202 with the status body, whatever body or content type came with it', async () => {
    gateway.runs.seedRun('lock-123-run', { lockId: 123, orgId: 'acme' });
    const answer = await call(gateway, {
      path: '/locks/123/BulkAddKeys/lock-123-run/cancel',
      headers: { 'content-type': 'text/plain' },
      body: 'please stop {not json',
    });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({
      instanceId: 'lock-123-run',
      status: 'cancelled',
      closedAt: expect.any(String),
    });
    expect(gateway.runs.cancelled).toEqual([{ instanceId: 'lock-123-run', lockId: 123, orgId: 'acme' }]);

    const again = await call(gateway, { path: '/locks/123/BulkAddKeys/lock-123-run/cancel', body: null });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      error: 'Conflict',
      message: 'The run has already closed; there is nothing to cancel',
      code: 409,
    });
  });

  test('503 on GET and cancel when Temporal is unreachable', async () => {
    gateway.runs.seedRun('lock-123-run', { lockId: 123, orgId: 'acme' });
    gateway.runs.unavailable = true;
    for (const request of [
      { method: 'GET', path: '/locks/123/BulkAddKeys/lock-123-run' },
      { method: 'POST', path: '/locks/123/BulkAddKeys/lock-123-run/cancel', body: null },
    ]) {
      const answer = await call(gateway, request);
      expect(answer.status).toBe(503);
      expect(json(answer).error).toBe('Service Unavailable');
      expect(answer.headers['retry-after']).toBe('5');
    }
    expect(gateway.runs.cancelled).toEqual([]);
  });
});

describe('GET /webhooks', () => {
  const gateway = gatewayPerTest(config);
  const failing = {
    url: 'https://hooks.example.com/lockkeys',
    state: 'failing' as const,
    since: '2026-12-02T10:00:00.000Z',
    pending: 300,
    oldestPendingAt: '2026-12-02T10:00:00.000Z',
    lastError: 'hooks.example.com did not answer',
  };

  test("the caller's organization's endpoints only, as the service reads them; none is an empty list", async () => {
    gateway.runs.endpoints.set('acme', [failing]);
    const answer = await call(gateway, { method: 'GET', path: '/webhooks' });
    expect(answer.status).toBe(200);
    expect(webhookListSchema.parse(answer.body)).toEqual({ webhooks: [failing] });
    const globex = await call(gateway, {
      method: 'GET',
      path: '/webhooks',
      headers: { 'x-api-key': GLOBEX_KEY },
    });
    expect(globex.body).toEqual({ webhooks: [] });
    expect(gateway.runs.calls).toEqual([
      { method: 'webhooks', orgId: 'acme' },
      { method: 'webhooks', orgId: 'globex' },
    ]);
  });

  test.each([
    ['no credentials', { authorization: undefined, 'x-api-key': undefined }, 401],
    ['no API key', { 'x-api-key': undefined }, 401],
    [
      'a JWT org claim of another organization',
      { authorization: `Bearer ${jwtFor({ sub: 'a', org: 'globex' })}` },
      403,
    ],
  ] as const)('%s: %s, nothing asked', async (_name, headers, status) => {
    const answer = await call(gateway, { method: 'GET', path: '/webhooks', headers });
    expect(answer.status).toBe(status);
    expect(gateway.runs.calls).toEqual([]);
  });

  test('503 when Temporal is unreachable; POST is 405 with Allow', async () => {
    gateway.runs.unavailable = true;
    const answer = await call(gateway, { method: 'GET', path: '/webhooks' });
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('5');
    const post = await call(gateway, { method: 'POST', path: '/webhooks', body: null });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });
});

describe('per-API-key rate limit', () => {
  const gateway = gatewayPerTest(() => ({ ...config(), limits: { ...config().limits, rateLimitPerMinute: 3 } }));

  test('the 4th request of a key in a minute is 429 with Retry-After; other keys keep their budget', async () => {
    gateway.runs.seedRun('lock-123-run', { lockId: 123, orgId: 'acme' });
    // Every authenticated request counts, rejected ones and reads included.
    expect((await call(gateway, {})).status).toBe(202);
    expect((await call(gateway, { path: '/locks/999/BulkAddKeys' })).status).toBe(403);
    expect((await call(gateway, { method: 'GET', path: '/locks/123/BulkAddKeys/lock-123-run' })).status).toBe(200);
    const limited = await call(gateway, {});
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      error: 'Too Many Requests',
      message: 'Rate limit exceeded for this API key; retry after the number of seconds in Retry-After',
      code: 429,
    });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(gateway.runs.started).toHaveLength(1);

    const otherKey = await call(gateway, {
      path: '/locks/500/BulkAddKeys',
      headers: { authorization: `Bearer ${jwtFor({ sub: 'bob' })}`, 'x-api-key': GLOBEX_KEY },
    });
    expect(otherKey.status).toBe(202);
  });

  test("unauthenticated requests get 401, never 429, and spend no key's budget", async () => {
    for (let i = 0; i < 10; i++) {
      const answer = await call(gateway, { headers: { 'x-api-key': 'lk_flood' } });
      expect(answer.status).toBe(401);
    }
    for (let i = 0; i < 3; i++) expect((await call(gateway, {})).status).toBe(202);
  });

  test('successful answers carry the RateLimit headers', async () => {
    const answer = await call(gateway, {});
    expect(answer.headers['ratelimit']).toMatch(/^"3-in-1min"; r=2; t=(59|60)$/);
  });
});

describe('development credentials', () => {
  test('DEV_API_KEY with a JWT signed by DEV_JWT_SECRET works when no key file is configured', async () => {
    const gateway = await startGateway(loadConfig({ NODE_ENV: 'development' }));
    try {
      const answer = await call(gateway, {
        path: '/locks/42/BulkAddKeys',
        headers: { authorization: `Bearer ${jwtFor({ sub: 'dev-user' }, DEV_JWT_SECRET)}`, 'x-api-key': DEV_API_KEY },
      });
      expect(answer.status).toBe(202);
      expect(gateway.runs.started).toEqual([
        { input: { lockId: 42, orgId: 'dev', requestedBy: 'dev-user', keys: validKeys } },
      ]);
    } finally {
      await gateway.close();
    }
  });
});

describe('operations', () => {
  const gateway = gatewayPerTest(config);

  test('/healthz answers without credentials', async () => {
    const answer = await call(gateway, { method: 'GET', path: '/healthz', headers: { authorization: undefined } });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 'ok' });
  });

  test.each([
    ['ready', true, 200, { status: 'ok' }],
    [
      'not ready',
      false,
      503,
      { error: 'Service Unavailable', message: 'The workflow service is not reachable', code: 503 },
    ],
    [
      'probe throwing',
      new TemporalUnavailableError('boom'),
      503,
      { error: 'Service Unavailable', message: 'The workflow service is not reachable', code: 503 },
    ],
  ])('/readyz when Temporal is %s', async (_name, readiness, status, body) => {
    gateway.runs.readiness = readiness;
    const answer = await call(gateway, { method: 'GET', path: '/readyz' });
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual(body);
  });

  test('X-Request-Id: a sane one is echoed, anything else is replaced, and log lines carry it', async () => {
    const echoed = await call(gateway, { method: 'GET', path: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(echoed.headers['x-request-id']).toBe('abc-123');
    const replaced = await call(gateway, {
      method: 'GET',
      path: '/healthz',
      headers: { 'x-request-id': 'a"b<script>' },
    });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const failed = await call(gateway, { headers: { 'x-request-id': 'req-401', 'x-api-key': 'lk_wrong_key' } });
    expect(failed.headers['x-request-id']).toBe('req-401');
    const lines = gateway.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ reqId: 'req-401', reason: 'X-API-Key unknown' }));
    expect(lines).toContainEqual(
      expect.objectContaining({ reqId: 'req-401', status: 401, path: '/locks/123/BulkAddKeys' }),
    );
  });

  test('every log line of a request carries its request id', async () => {
    gateway.runs.seedRun('lock-123-other-org', { lockId: 123, orgId: 'globex' });
    await call(gateway, { headers: { 'x-request-id': 'req-ok' } });
    await call(gateway, {
      method: 'GET',
      path: '/locks/123/BulkAddKeys/lock-123-other-org',
      headers: { 'x-request-id': 'req-404' },
    });
    const lines = gateway.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.filter((line) => line.reqId === 'req-ok').map((line) => line.msg)).toEqual([
      'bulkAddKeys started',
      'request completed',
    ]);
    // The client learns nothing about whose run it is; the log says why it was not found.
    expect(lines.filter((line) => line.reqId === 'req-404')).toEqual([
      expect.objectContaining({
        status: 404,
        reason: 'No such run for this lock',
        cause: expect.stringContaining('lock-123-other-org'),
      }),
      expect.objectContaining({ msg: 'request completed', status: 404 }),
    ]);
  });

  test('every line of a run route carries lockId and instanceId, once each', async () => {
    gateway.runs.seedRun('lock-123-other-org', { lockId: 123, orgId: 'globex' });
    await call(gateway, { headers: { 'x-request-id': 'req-start' } });
    await call(gateway, {
      method: 'GET',
      path: '/locks/123/BulkAddKeys/lock-123-fake-1',
      headers: { 'x-request-id': 'req-get' },
    });
    await call(gateway, {
      path: '/locks/123/BulkAddKeys/lock-123-fake-1/cancel',
      body: null,
      headers: { 'x-request-id': 'req-cancel' },
    });
    await call(gateway, {
      method: 'GET',
      path: '/locks/123/BulkAddKeys/lock-123-other-org',
      headers: { 'x-request-id': 'req-foreign' },
    });
    const linesOf = (reqId: string) => gateway.logs.filter((line) => line.includes(`"reqId":"${reqId}"`));
    const expected = {
      'req-start': ['lock-123-fake-1', ['bulkAddKeys started', 'request completed']],
      'req-get': ['lock-123-fake-1', ['request completed']],
      'req-cancel': ['lock-123-fake-1', ['bulkAddKeys cancel requested', 'request completed']],
      'req-foreign': ['lock-123-other-org', ['request rejected', 'request completed']],
    } as const;
    for (const [reqId, [instanceId, messages]] of Object.entries(expected)) {
      const lines = linesOf(reqId);
      expect([reqId, lines.map((line) => (JSON.parse(line) as { msg: string }).msg)]).toEqual([reqId, messages]);
      for (const line of lines) {
        expect(JSON.parse(line)).toMatchObject({ reqId, lockId: 123, instanceId });
        // pino child bindings plus the same field again would write the key twice.
        expect([line.split('"lockId":').length, line.split('"instanceId":').length]).toEqual([2, 2]);
      }
    }
  });

  test('logs never contain credentials', async () => {
    const token = jwtFor({ sub: 'alice' });
    await call(gateway, { headers: { authorization: `Bearer ${token}` } });
    await call(gateway, { headers: { authorization: `Bearer ${token}`, 'x-api-key': 'lk_wrong_key' } });
    const logs = gateway.logs.join('\n');
    expect(logs).not.toContain(token);
    expect(logs).not.toContain(ACME_KEY);
    expect(logs).not.toContain('lk_wrong_key');
  });

  test('security headers: helmet on, no X-Powered-By, nothing cached', async () => {
    for (const answer of [
      await call(gateway, { method: 'GET', path: '/healthz' }),
      await call(gateway, { headers: { authorization: undefined } }),
    ]) {
      expect(answer.headers['x-powered-by']).toBeUndefined();
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(answer.headers['content-security-policy']).toContain("default-src 'self'");
      expect(answer.headers['strict-transport-security']).toBeDefined();
      expect(answer.headers['x-request-id']).toBeDefined();
    }
  });
});

describe('the run routes answer as their declarations say', () => {
  const gateway = gatewayPerTest(config);
  const routes = () => httpRoutes(config().limits);
  const RUN = '/locks/123/BulkAddKeys/lock-123-run';

  /** Every header the declaration documents for this answer is on it (`Idempotent-Replayed` only on replays). */
  function expectDocumentedHeaders(answer: RawAnswer, operationId: OperationId, status: number) {
    const declared = (routes()[operationId].responses as Record<number, ResponseDeclaration>)[status];
    expect(declared?.kind).toBe('json');
    const names = Object.keys(declared?.headers ?? {}).filter((name) => name !== 'Idempotent-Replayed');
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect([name, answer.headers[name.toLowerCase()]]).toEqual([name, expect.any(String)]);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.headers['x-request-id']).toEqual(expect.any(String));
  }
  /** The body is exactly what the schema describes: parsing keeps all of it and adds nothing. */
  const expectExactly = (schema: z.ZodType, body: unknown) => {
    const parsed = schema.safeParse(body);
    expect(parsed.error).toBeUndefined();
    expect(parsed.data).toEqual(body);
  };

  test.each([
    ['getBulkAddKeysRun', 'GET', RUN, 200, 'status', 'running'],
    ['pauseBulkAddKeysRun', 'POST', `${RUN}/pause`, 202, 'pause', 'paused'],
    ['resumeBulkAddKeysRun', 'POST', `${RUN}/resume`, 202, 'resume', 'queued'],
    ['cancelBulkAddKeysRun', 'POST', `${RUN}/cancel`, 202, 'cancel', 'cancelled'],
  ] as const)('%s: %s %s is %d with a status body', async (operationId, method, path, status, called, runStatus) => {
    gateway.runs.seedRun('lock-123-run', { lockId: 123, orgId: 'acme', keys: validKeys });
    // A run to resume is a paused one.
    if (called === 'resume') await call(gateway, { path: `${RUN}/pause`, body: null });
    const answer = await call(gateway, { method, path, body: null });
    expect(answer.status).toBe(status);
    expectExactly(runStatusBodySchema, answer.body);
    expect(answer.body).toMatchObject({ instanceId: 'lock-123-run', lockId: 123, status: runStatus });
    expectDocumentedHeaders(answer, operationId, status);
    expect(gateway.runs.calls.at(-1)).toEqual({
      method: called,
      ref: { instanceId: 'lock-123-run', lockId: 123, orgId: 'acme' },
    });
  });

  test('startBulkAddKeys: 202 with Location at the run, and the documented headers', async () => {
    const answer = await call(gateway, { headers: { 'idempotency-key': 'order-7' } });
    expect(answer.status).toBe(202);
    expectExactly(bulkAddKeysAcceptedSchema, answer.body);
    expectDocumentedHeaders(answer, 'startBulkAddKeys', 202);
    expect(answer.headers.location).toBe(`/locks/123/BulkAddKeys/${json(answer).instanceId as string}`);
    const replay = await call(gateway, { headers: { 'idempotency-key': 'order-7' } });
    expect(replay.headers.location).toBe(answer.headers.location);
    expect(replay.headers['idempotent-replayed']).toBe('true');
  });

  test('listBulkAddKeysRuns: 200 with a run list; limit defaults to 20; nothing else is added to the request', async () => {
    gateway.runs.seedRun('lock-123-run', { lockId: 123, orgId: 'acme' });
    gateway.runs.seedRun('lock-123-globex', { lockId: 123, orgId: 'globex' });
    const answer = await call(gateway, { method: 'GET', path: '/locks/123/BulkAddKeys' });
    expect(answer.status).toBe(200);
    expectExactly(runListSchema, answer.body);
    expectDocumentedHeaders(answer, 'listBulkAddKeysRuns', 200);
    expect(answer.body).toEqual({
      runs: [expect.objectContaining({ instanceId: 'lock-123-run', status: 'running' })],
      nextCursor: null,
    });
    expect(gateway.runs.calls).toEqual([{ method: 'list', request: { lockId: 123, orgId: 'acme', limit: 20 } }]);
  });

  test('listBulkAddKeysRuns: limit, status and cursor go to the service as they came; pages follow nextCursor', async () => {
    for (const id of ['a', 'b', 'c']) gateway.runs.seedRun(`lock-123-${id}`, { lockId: 123, orgId: 'acme' });
    const first = await call(gateway, { method: 'GET', path: '/locks/123/BulkAddKeys?limit=2&status=running' });
    expect(first.status).toBe(200);
    expectExactly(runListSchema, first.body);
    const { runs, nextCursor } = first.body as RunList;
    expect(runs.map((run) => run.instanceId)).toEqual(['lock-123-c', 'lock-123-b']);
    expect(nextCursor).toEqual(expect.any(String));

    const second = await call(gateway, {
      method: 'GET',
      path: `/locks/123/BulkAddKeys?status=running&limit=2&cursor=${encodeURIComponent(nextCursor!)}`,
    });
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ runs: [expect.objectContaining({ instanceId: 'lock-123-a' })], nextCursor: null });
    expect(gateway.runs.calls.map((c) => (c.method === 'list' ? c.request : c))).toEqual([
      { lockId: 123, orgId: 'acme', limit: 2, status: 'running' },
      { lockId: 123, orgId: 'acme', limit: 2, status: 'running', cursor: nextCursor },
    ]);
  });

  test('a cursor the service refuses is 400 naming the cursor', async () => {
    const answer = await call(gateway, { method: 'GET', path: '/locks/123/BulkAddKeys?cursor=forged' });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: 'Bad Request',
      message: 'Query is invalid',
      code: 400,
      details: [{ path: 'cursor', message: 'cursor is not one this API gave for this lock and status' }],
    });
  });

  test('a full lock is 429 with the Retry-After the service gave, and nothing is started', async () => {
    gateway.runs.failure = new TooManyActiveRunsError(123, 3, 42);
    const answer = await call(gateway, {});
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('42');
    expect(answer.body).toEqual({
      error: 'Too Many Requests',
      message:
        'Lock 123 already has 3 runs queued, running or paused; nothing was started, retry after the number of ' +
        'seconds in Retry-After',
      code: 429,
    });
    expect(gateway.runs.started).toEqual([]);
  });

  const concretePath = (path: string) =>
    path.replace('{lockId}', '123').replace('{instanceId}', 'lock-123-run').replace('{asset}', 'swagger-ui.css');
  const wrongMethods = [...methodsByPath(httpRoutes(loadConfig({ NODE_ENV: 'test' }).limits))].flatMap(
    ([path, allowed]) =>
      ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']
        .filter((method) => !allowed.includes(method))
        .map((method) => [method, path, allowed.join(', ')] as const),
  );

  test('every declared path has a method it does not serve', () => {
    expect(new Set(wrongMethods.map(([, path]) => path)).size).toBe(
      new Set(Object.values(httpRoutes(loadConfig({ NODE_ENV: 'test' }).limits)).map((route) => route.path)).size,
    );
  });

  test.each(wrongMethods)(
    '%s %s is 405 with Allow: %s, before credentials are even looked at',
    async (method, path, allow) => {
      const answer = await call(gateway, {
        method,
        path: concretePath(path),
        headers: { authorization: undefined, 'x-api-key': undefined },
        body: null,
      });
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe(allow);
      if (method !== 'HEAD') {
        expect(answer.body).toEqual({
          error: 'Method Not Allowed',
          message: `${method} is not served here; this path serves ${allow}`,
          code: 405,
        });
      }
      expect(gateway.runs.calls).toEqual([]);
    },
  );

  test.each([
    ['/locks/123/BulkAddKeys/lock-123-run', 'status'],
    ['/locks/123/BulkAddKeys', 'list'],
  ])('HEAD %s answers like GET, without a body', async (path, method) => {
    gateway.runs.seedRun('lock-123-run', { lockId: 123, orgId: 'acme' });
    const get = await call(gateway, { method: 'GET', path });
    const head = await call(gateway, { method: 'HEAD', path });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.headers['content-type']).toBe(get.headers['content-type']);
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(gateway.runs.calls.map((c) => c.method)).toEqual([method, method]);
    // Credentials are still required.
    const anonymous = await call(gateway, { method: 'HEAD', path, headers: { 'x-api-key': undefined } });
    expect(anonymous.status).toBe(401);
  });

  test('HEAD on the operations routes answers 200 without credentials', async () => {
    for (const path of ['/healthz', '/readyz', '/openapi.json', '/metrics']) {
      const head = await call(gateway, { method: 'HEAD', path, headers: { authorization: undefined } });
      expect([path, head.status, head.text]).toEqual([path, 200, '']);
    }
  });
});
