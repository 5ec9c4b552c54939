import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import { DEV_API_KEY, DEV_JWT_SECRET } from '@lockkeys/contracts';
import { expectStatus, GatewayClient } from './gateway';
import { keysFor } from './keys';

/** A stand-in gateway: records each request and answers what the test queued for it. */
let server: Server;
let baseUrl: string;
const received: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
const answers: { status: number; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const answer = answers.shift() ?? { status: 500, body: '{}' };
      res.writeHead(answer.status, { 'content-type': 'application/json', 'x-seen': 'yes' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  received.length = 0;
  answers.length = 0;
});

const RUN = {
  instanceId: 'lock-9-a',
  lockId: 9,
  status: 'running',
  createdAt: '2025-01-01T00:00:00.000Z',
  closedAt: null,
  summary: { total: 1, added: 0, failed: 0, pending: 1, cancelled: 0 },
  keys: [{ keyUuid: 'k-9-1', keyIndexNumber: 1, userId: 'user-1', status: 'pending', attempts: 0, error: null }],
};

test('BulkAddKeys goes out with the dev credentials, a dev JWT of org dev, and the keys as JSON', async () => {
  answers.push({ status: 202, body: JSON.stringify({ success: true, lockId: 9, instanceId: 'lock-9-a' }) });
  const api = new GatewayClient(baseUrl, { sub: 'suite' });
  const response = await api.bulkAddKeys(9, keysFor(9, [1]), { 'idempotency-key': 'order-1' });

  expect(response).toEqual({
    status: 202,
    headers: expect.objectContaining({ 'x-seen': 'yes' }),
    body: { success: true, lockId: 9, instanceId: 'lock-9-a' },
  });
  const [request] = received;
  expect(request).toMatchObject({ method: 'POST', url: '/locks/9/BulkAddKeys' });
  expect(JSON.parse(request!.body)).toEqual({ keys: keysFor(9, [1]) });
  expect(request!.headers).toMatchObject({
    'x-api-key': DEV_API_KEY,
    'content-type': 'application/json',
    'idempotency-key': 'order-1',
  });
  const [header = '', payload = '', signature] = request!.headers.authorization!.replace(/^Bearer /, '').split('.');
  expect(signature).toBe(createHmac('sha256', DEV_JWT_SECRET).update(`${header}.${payload}`).digest('base64url'));
  expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toMatchObject({ alg: 'HS256' });
  expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toMatchObject({ sub: 'suite', org: 'dev' });
});

test('status and cancel address the run; the body comes back as sent, every property kept', async () => {
  answers.push({ status: 200, body: JSON.stringify({ ...RUN, extra: 'kept' }) });
  answers.push({ status: 202, body: JSON.stringify({ ...RUN, status: 'cancelled' }) });
  const api = new GatewayClient(baseUrl);
  expect((await api.status(9, 'lock-9-a')).body).toEqual({ ...RUN, extra: 'kept' });
  expect((await api.cancel(9, 'lock-9-a')).status).toBe(202);
  expect(received.map((r) => `${r.method} ${r.url}`)).toEqual([
    'GET /locks/9/BulkAddKeys/lock-9-a',
    'POST /locks/9/BulkAddKeys/lock-9-a/cancel',
  ]);
});

test('an answer outside the contract fails the call, naming the route and the body', async () => {
  answers.push({ status: 200, body: JSON.stringify({ ...RUN, summary: { total: 'one' } }) });
  answers.push({ status: 404, body: JSON.stringify({ message: 'no error title, no code' }) });
  const api = new GatewayClient(baseUrl);
  await expect(api.status(9, 'lock-9-a')).rejects.toThrow(
    /GET \/locks\/9\/BulkAddKeys\/lock-9-a: the gateway answered 200 with a body outside the contract/,
  );
  await expect(api.status(9, 'lock-9-a')).rejects.toThrow(/answered 404 with a body outside the contract/);
});

test('expectStatus and startRun: the success body, or an error saying what the gateway answered instead', async () => {
  const conflict = { error: 'Conflict', message: 'Idempotency-Key reused', code: 409 };
  answers.push({ status: 409, body: JSON.stringify(conflict) });
  const api = new GatewayClient(baseUrl);
  await expect(api.startRun(9, keysFor(9, [1]))).rejects.toThrow(
    `BulkAddKeys on lock 9: expected 202, the gateway answered 409 ${JSON.stringify(conflict)}`,
  );
  expect(expectStatus({ status: 200, headers: {}, body: RUN as never }, 200)).toBe(RUN);
});

test('headers(): overrides on top, undefined drops one; request() sends exactly what it is given', async () => {
  const api = new GatewayClient(baseUrl, { jwt: 'not-a-jwt', apiKey: 'lk_other' });
  expect(api.headers({ 'x-api-key': undefined, 'x-extra': '1' })).toEqual({
    authorization: 'Bearer not-a-jwt',
    'content-type': 'application/json',
    'x-extra': '1',
  });
  answers.push({ status: 415, body: 'not json' });
  const answer = await api.request({ method: 'PUT', path: '/anything?x=1', headers: { 'x-only': 'this' } });
  expect(answer).toMatchObject({ status: 415, text: 'not json', body: undefined });
  expect(received[0]!.url).toBe('/anything?x=1');
  expect(received[0]!.headers.authorization).toBeUndefined();
  expect(received[0]!.headers['x-only']).toBe('this');
});
