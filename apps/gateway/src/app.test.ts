import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BulkAddKeysInput, UNAUTHORIZED_BODY } from '@lockkeys/contracts';
import { sign } from 'jsonwebtoken';
import pino from 'pino';
import { createApp } from './app';
import { sha256Hex } from './auth';
import { DEV_API_KEY, DEV_JWT_SECRET, type GatewayConfig, loadConfig } from './config';
import { TemporalUnavailableError, type WorkflowStarter } from './temporal';

const SECRET = 'gateway-test-secret-0123456789-abcdef';
const ACME_KEY = 'lk_test_acme_0000000000000000000001';
const GLOBEX_KEY = 'lk_test_globex_000000000000000000001';

/** Records every call; what it answers is set per test. */
class FakeWorkflowStarter implements WorkflowStarter {
  readonly calls: BulkAddKeysInput[] = [];
  startFailure: Error | undefined;
  readiness: boolean | Error = true;

  async start(input: BulkAddKeysInput): Promise<string> {
    this.calls.push(structuredClone(input));
    if (this.startFailure) throw this.startFailure;
    return `lock-${input.lockId}-fake-${this.calls.length}`;
  }
  async ready(): Promise<boolean> {
    if (this.readiness instanceof Error) throw this.readiness;
    return this.readiness;
  }
  async close(): Promise<void> {}
}

interface Gateway {
  baseUrl: string;
  starter: FakeWorkflowStarter;
  logs: string[];
  close(): Promise<void>;
}

async function startGateway(config: GatewayConfig): Promise<Gateway> {
  const starter = new FakeWorkflowStarter();
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const server: Server = createServer(createApp({ config, workflowStarter: starter, logger }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    starter,
    logs,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const jwtFor = (claims: object, secret = SECRET, algorithm: 'HS256' | 'HS512' = 'HS256') =>
  sign(claims, secret, { algorithm, expiresIn: '5m' });
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

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
  /** An object is sent as JSON; a string is sent as is. */
  body?: unknown;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

async function call(gateway: Gateway, { method = 'POST', path = '/locks/123/BulkAddKeys', headers = {}, body }: Call) {
  const merged: Record<string, string | undefined> = {
    authorization: `Bearer ${jwtFor({ sub: 'alice' })}`,
    'x-api-key': ACME_KEY,
    'content-type': 'application/json',
    ...headers,
  };
  const sentHeaders = Object.fromEntries(
    Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const payload = body === undefined ? (method === 'POST' ? JSON.stringify({ keys: validKeys }) : undefined) : body;
  const response = await fetch(gateway.baseUrl + path, {
    method,
    headers: sentHeaders,
    // Bytes, not a string: fetch would otherwise add its own text/plain content type.
    body:
      payload === undefined ? undefined : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json } satisfies Answer;
}

let tempDir: string;
let config: GatewayConfig;

beforeAll(() => {
  tempDir = mkdtempSync(join(tmpdir(), 'gateway-test-'));
  const apiKeysFile = join(tempDir, 'api-keys.json');
  writeFileSync(
    apiKeysFile,
    JSON.stringify({
      keys: [
        { id: 'acme-1', sha256: sha256Hex(ACME_KEY), orgId: 'acme', locks: [123, 124] },
        { id: 'globex-1', sha256: sha256Hex(GLOBEX_KEY), orgId: 'globex', locks: '*' },
      ],
    }),
  );
  config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, API_KEYS_FILE: apiKeysFile });
});

afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

const badRequest = (message: string) => ({ error: 'Bad Request', message, code: 400 });
const invalidBody = (paths: string[]) => ({ ...badRequest('Request body is invalid'), paths });
const forbidden = (message: string) => ({ error: 'Forbidden', message, code: 403 });
const unsupported = (message = 'Request body must be application/json') => ({
  error: 'Unsupported Media Type',
  message,
  code: 415,
});

/** Expected answer: an exact body, or for schema violations the exact list of `details` paths. */
type Expected = { status: number; body: object } | { status: 400; body: ReturnType<typeof invalidBody> };

const hostileRequests: Array<[name: string, request: Call, expected: Expected]> = [
  // 401: authentication comes first and always answers the same body.
  ['missing Authorization', { headers: { authorization: undefined } }, { status: 401, body: UNAUTHORIZED_BODY }],
  ['Authorization without a token', { headers: { authorization: 'Bearer' } }, { status: 401, body: UNAUTHORIZED_BODY }],
  [
    'Authorization with two tokens',
    { headers: { authorization: 'Bearer a b' } },
    { status: 401, body: UNAUTHORIZED_BODY },
  ],
  ['wrong scheme', { headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } }, { status: 401, body: UNAUTHORIZED_BODY }],
  [
    'token that is not a JWT',
    { headers: { authorization: 'Bearer not-a-jwt' } },
    { status: 401, body: UNAUTHORIZED_BODY },
  ],
  [
    'bad JWT signature',
    { headers: { authorization: `Bearer ${jwtFor({ sub: 'alice' }, 'some-other-secret-0123456789-abcdef')}` } },
    { status: 401, body: UNAUTHORIZED_BODY },
  ],
  [
    'expired JWT',
    { headers: { authorization: `Bearer ${sign({ sub: 'alice', exp: nowSeconds() - 60 }, SECRET)}` } },
    { status: 401, body: UNAUTHORIZED_BODY },
  ],
  [
    'JWT not valid yet',
    { headers: { authorization: `Bearer ${sign({ sub: 'alice', nbf: nowSeconds() + 60 }, SECRET)}` } },
    { status: 401, body: UNAUTHORIZED_BODY },
  ],
  [
    'alg none token',
    { headers: { authorization: `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'alice' })}.` } },
    { status: 401, body: UNAUTHORIZED_BODY },
  ],
  [
    'algorithm the configuration did not name (HS512)',
    { headers: { authorization: `Bearer ${jwtFor({ sub: 'alice' }, SECRET, 'HS512')}` } },
    { status: 401, body: UNAUTHORIZED_BODY },
  ],
  [
    'missing sub',
    { headers: { authorization: `Bearer ${jwtFor({ org: 'acme' })}` } },
    { status: 401, body: UNAUTHORIZED_BODY },
  ],
  [
    'empty sub',
    { headers: { authorization: `Bearer ${jwtFor({ sub: '' })}` } },
    { status: 401, body: UNAUTHORIZED_BODY },
  ],
  [
    'numeric sub',
    { headers: { authorization: `Bearer ${jwtFor({ sub: 42 })}` } },
    { status: 401, body: UNAUTHORIZED_BODY },
  ],
  [
    'org claim that is not a string',
    { headers: { authorization: `Bearer ${jwtFor({ sub: 'alice', org: ['acme'] })}` } },
    { status: 401, body: UNAUTHORIZED_BODY },
  ],
  ['missing X-API-Key', { headers: { 'x-api-key': undefined } }, { status: 401, body: UNAUTHORIZED_BODY }],
  ['unknown API key', { headers: { 'x-api-key': 'lk_nobody_knows_me' } }, { status: 401, body: UNAUTHORIZED_BODY }],
  ['API key with a space', { headers: { 'x-api-key': `${ACME_KEY} x` } }, { status: 401, body: UNAUTHORIZED_BODY }],
  [
    '401 before a bad lockId is looked at',
    { path: '/locks/abc/BulkAddKeys', headers: { 'x-api-key': undefined } },
    { status: 401, body: UNAUTHORIZED_BODY },
  ],
  [
    '401 before the body is looked at',
    { headers: { authorization: undefined, 'content-type': 'text/plain' }, body: '{oops' },
    { status: 401, body: UNAUTHORIZED_BODY },
  ],
  [
    '401 for any path under /locks without credentials',
    { method: 'GET', path: '/locks/123/whatever', headers: { authorization: undefined } },
    { status: 401, body: UNAUTHORIZED_BODY },
  ],

  // 400: lockId, checked after authentication and before authorization.
  ...['abc', '0', '-1', '1e3', '0x10', '12abc', '007', '1.5', ' 12', String(2 ** 53)].map(
    (lockId): [string, Call, Expected] => [
      `lockId ${JSON.stringify(lockId)}`,
      { path: `/locks/${encodeURIComponent(lockId)}/BulkAddKeys`, headers: { 'x-api-key': GLOBEX_KEY } },
      {
        status: 400,
        body: { ...badRequest('lockId is invalid'), details: [{ path: 'lockId', message: expect.any(String) }] },
      },
    ],
  ),
  [
    'undecodable path',
    { path: '/locks/%E0%A4%A/BulkAddKeys' },
    { status: 400, body: badRequest('The request could not be processed') },
  ],

  // 403: authenticated, not allowed.
  [
    'lock of another organization',
    { path: '/locks/999/BulkAddKeys' },
    { status: 403, body: forbidden('This API key may not manage lock 999') },
  ],
  [
    'org claim differs from the API key organization',
    { headers: { authorization: `Bearer ${jwtFor({ sub: 'alice', org: 'globex' })}` } },
    { status: 403, body: forbidden("The token's organization does not match the API key's organization") },
  ],
  [
    '403 before the body is looked at',
    { path: '/locks/999/BulkAddKeys', body: '{oops' },
    { status: 403, body: forbidden('This API key may not manage lock 999') },
  ],

  // 415, 413, malformed JSON.
  ['wrong content type', { headers: { 'content-type': 'text/plain' } }, { status: 415, body: unsupported() }],
  ['missing content type', { headers: { 'content-type': undefined }, body: '' }, { status: 415, body: unsupported() }],
  [
    'JSON-ish content type',
    { headers: { 'content-type': 'application/json-patch+json' } },
    { status: 415, body: unsupported() },
  ],
  [
    'non-UTF-8 charset',
    { headers: { 'content-type': 'application/json; charset=iso-8859-1' } },
    { status: 415, body: unsupported('Request body must be UTF-8 encoded JSON') },
  ],
  [
    'compressed body',
    { headers: { 'content-encoding': 'gzip' } },
    { status: 415, body: unsupported('Request body must not be compressed') },
  ],
  ['malformed JSON', { body: '{"keys": [' }, { status: 400, body: badRequest('Request body is not valid JSON') }],
  [
    'JSON that is not an object',
    { body: '"keys"' },
    { status: 400, body: badRequest('Request body is not valid JSON') },
  ],
  [
    'oversize body',
    { body: JSON.stringify({ keys: [{ keyUuid: 'x'.repeat(1024 * 1024), keyIndexNumber: 1, userId: 'u' }] }) },
    {
      status: 413,
      body: { error: 'Payload Too Large', message: 'Request body must be at most 1048576 bytes', code: 413 },
    },
  ],

  // 400: body schema, with the paths of what is wrong.
  ['empty body', { body: '' }, { status: 400, body: invalidBody(['keys']) }],
  ['empty keys', { body: { keys: [] } }, { status: 400, body: invalidBody(['keys']) }],
  ['missing keys', { body: {} }, { status: 400, body: invalidBody(['keys']) }],
  ['keys not an array', { body: { keys: { keyUuid: 'a' } } }, { status: 400, body: invalidBody(['keys']) }],
  ['array instead of object', { body: [validKeys[0]] }, { status: 400, body: invalidBody(['']) }],
  [
    'wrong types',
    { body: { keys: [{ keyUuid: 5, keyIndexNumber: '1', userId: null }] } },
    { status: 400, body: invalidBody(['keys.0.keyUuid', 'keys.0.keyIndexNumber', 'keys.0.userId']) },
  ],
  [
    'missing key fields',
    { body: { keys: [validKeys[0], { keyUuid: 'uuid-c' }] } },
    { status: 400, body: invalidBody(['keys.1.keyIndexNumber', 'keys.1.userId']) },
  ],
  ['extra property on the body', { body: { keys: validKeys, admin: true } }, { status: 400, body: invalidBody(['']) }],
  [
    '__proto__ on the body',
    { body: '{"keys":[],"__proto__":{"admin":true}}' },
    { status: 400, body: invalidBody(['keys', '']) },
  ],
  [
    'extra property on a key',
    { body: { keys: [{ ...validKeys[0], lockId: 7 }] } },
    { status: 400, body: invalidBody(['keys.0']) },
  ],
  [
    'duplicate keyUuid',
    { body: { keys: [validKeys[0], { ...validKeys[1], keyUuid: 'uuid-a' }] } },
    { status: 400, body: invalidBody(['keys.1.keyUuid']) },
  ],
  [
    'duplicate keyIndexNumber',
    { body: { keys: [validKeys[0], { ...validKeys[1], keyIndexNumber: 1 }] } },
    { status: 400, body: invalidBody(['keys.1.keyIndexNumber']) },
  ],
  [
    'control characters',
    {
      body: {
        keys: [
          { ...validKeys[0], userId: 'bob\u0000' },
          { ...validKeys[1], keyUuid: 'uuid\u009b' },
        ],
      },
    },
    { status: 400, body: invalidBody(['keys.0.userId', 'keys.1.keyUuid']) },
  ],
  [
    'empty and too long strings',
    {
      body: {
        keys: [
          { ...validKeys[0], keyUuid: '' },
          { ...validKeys[1], userId: 'u'.repeat(129) },
        ],
      },
    },
    { status: 400, body: invalidBody(['keys.0.keyUuid', 'keys.1.userId']) },
  ],
  [
    'keyIndexNumber out of range or fractional',
    {
      body: {
        keys: [
          key(1),
          { ...key(2), keyIndexNumber: -1 },
          { ...key(3), keyIndexNumber: 65536 },
          { ...key(4), keyIndexNumber: 1.5 },
        ],
      },
    },
    { status: 400, body: invalidBody(['keys.1.keyIndexNumber', 'keys.2.keyIndexNumber', 'keys.3.keyIndexNumber']) },
  ],
  [
    '1001 keys',
    { body: { keys: Array.from({ length: 1001 }, (_, i) => key(i)) } },
    { status: 400, body: invalidBody(['keys']) },
  ],

  // 404.
  [
    'unknown route',
    { method: 'GET', path: '/nope', headers: {} },
    { status: 404, body: { error: 'Not Found', message: 'The requested resource does not exist', code: 404 } },
  ],
  [
    'unknown route under /locks with credentials',
    { path: '/locks/123/BulkRemoveKeys' },
    { status: 404, body: { error: 'Not Found', message: 'The requested resource does not exist', code: 404 } },
  ],
];

describe('POST /locks/:lockId/BulkAddKeys rejects hostile input', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway(config);
  });
  afterAll(() => gateway.close());

  test.each(hostileRequests)('%s', async (_name, request, expected) => {
    const answer = await call(gateway, request);
    expect(answer.status).toBe(expected.status);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    if ('paths' in expected.body) {
      const { paths, ...rest } = expected.body;
      expect(answer.json).toEqual({ ...rest, details: paths.map((path) => ({ path, message: expect.any(String) })) });
    } else {
      expect(answer.json).toEqual(expected.body);
    }
    if (expected.status === 401) expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="lockkeys"');
  });

  test('no rejected request started a workflow', () => {
    expect(gateway.starter.calls).toEqual([]);
  });

  test('the gateway still answers after all of them', async () => {
    const answer = await call(gateway, { method: 'GET', path: '/healthz' });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ status: 'ok' });
  });
});

describe('POST /locks/:lockId/BulkAddKeys accepts a valid request', () => {
  let gateway: Gateway;
  beforeEach(async () => {
    gateway = await startGateway(config);
  });
  afterEach(() => gateway.close());

  test('202 with Location, the instanceId, and the exact workflow input', async () => {
    const answer = await call(gateway, {});
    expect(answer.status).toBe(202);
    expect(answer.json).toEqual({ success: true, lockId: 123, instanceId: 'lock-123-fake-1' });
    expect(answer.headers.get('location')).toBe('/locks/123/BulkAddKeys/lock-123-fake-1');
    expect(gateway.starter.calls).toEqual([{ lockId: 123, orgId: 'acme', requestedBy: 'alice', keys: validKeys }]);
  });

  test('a matching org claim, a wildcard key and the largest lockId are accepted', async () => {
    const lockId = Number.MAX_SAFE_INTEGER;
    const answer = await call(gateway, {
      path: `/locks/${lockId}/BulkAddKeys`,
      headers: {
        authorization: `Bearer ${jwtFor({ sub: 'bob', org: 'globex' })}`,
        'x-api-key': GLOBEX_KEY,
        'content-type': 'Application/JSON; charset=utf-8',
      },
      body: { keys: Array.from({ length: 1000 }, (_, i) => ({ ...key(i), keyIndexNumber: 65535 - i })) },
    });
    expect(answer.status).toBe(202);
    expect(answer.json).toEqual({ success: true, lockId, instanceId: `lock-${lockId}-fake-1` });
    expect(gateway.starter.calls).toHaveLength(1);
    expect(gateway.starter.calls[0]).toMatchObject({ lockId, orgId: 'globex', requestedBy: 'bob' });
    expect(gateway.starter.calls[0]?.keys).toHaveLength(1000);
  });

  test('a JWT expired within the 5 s clock tolerance is still accepted', async () => {
    const token = sign({ sub: 'alice', exp: nowSeconds() - 2 }, SECRET);
    const answer = await call(gateway, { headers: { authorization: `bearer ${token}` } });
    expect(answer.status).toBe(202);
  });

  test('503 with SPEC body when Temporal is unreachable, and the process keeps serving', async () => {
    gateway.starter.startFailure = new TemporalUnavailableError('connection refused');
    const answer = await call(gateway, {});
    expect(answer.status).toBe(503);
    expect(answer.json).toEqual({
      error: 'Service Unavailable',
      message: 'The workflow service is unavailable; nothing was started, please retry later',
      code: 503,
    });
    expect((await call(gateway, { method: 'GET', path: '/healthz' })).status).toBe(200);
  });

  test('500 without internals when the starter fails unexpectedly', async () => {
    gateway.starter.startFailure = new Error('secret detail at /srv/internal.ts:42');
    const answer = await call(gateway, {});
    expect(answer.status).toBe(500);
    expect(answer.json).toEqual({ error: 'Internal Server Error', message: 'An unexpected error occurred', code: 500 });
    expect(answer.text).not.toContain('secret detail');
    expect(gateway.logs.join('\n')).toContain('secret detail');
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
      expect(gateway.starter.calls).toEqual([{ lockId: 42, orgId: 'dev', requestedBy: 'dev-user', keys: validKeys }]);
    } finally {
      await gateway.close();
    }
  });
});

describe('operations', () => {
  let gateway: Gateway;
  beforeEach(async () => {
    gateway = await startGateway(config);
  });
  afterEach(() => gateway.close());

  test('/healthz answers without credentials', async () => {
    const answer = await call(gateway, { method: 'GET', path: '/healthz', headers: { authorization: undefined } });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ status: 'ok' });
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
      new Error('boom'),
      503,
      { error: 'Service Unavailable', message: 'The workflow service is not reachable', code: 503 },
    ],
  ])('/readyz when Temporal is %s', async (_name, readiness, status, body) => {
    gateway.starter.readiness = readiness;
    const answer = await call(gateway, { method: 'GET', path: '/readyz' });
    expect(answer.status).toBe(status);
    expect(answer.json).toEqual(body);
  });

  test('X-Request-Id: a sane one is echoed, anything else is replaced, and log lines carry it', async () => {
    const echoed = await call(gateway, { method: 'GET', path: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('abc-123');
    const replaced = await call(gateway, {
      method: 'GET',
      path: '/healthz',
      headers: { 'x-request-id': 'a"b<script>' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const failed = await call(gateway, { headers: { 'x-request-id': 'req-401', 'x-api-key': 'lk_wrong_key' } });
    expect(failed.headers.get('x-request-id')).toBe('req-401');
    const lines = gateway.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ reqId: 'req-401', reason: 'X-API-Key unknown' }));
    expect(lines).toContainEqual(
      expect.objectContaining({ reqId: 'req-401', status: 401, path: '/locks/123/BulkAddKeys' }),
    );
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

  test('no X-Powered-By, and responses are not cached', async () => {
    const answer = await call(gateway, { method: 'GET', path: '/healthz' });
    expect(answer.headers.get('x-powered-by')).toBeNull();
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
