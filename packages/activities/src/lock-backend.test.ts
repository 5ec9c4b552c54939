import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpLockBackend, LockBackendError } from './lock-backend';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let handler: Handler;
const received: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
});

const key = { keyUuid: 'k-1', keyIndexNumber: 42, userId: 'u-1' };
const reply =
  (status: number, body: object = {}) =>
  (_req: IncomingMessage, _body: string, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

test('speaks the protocol: PUT to the slot with bearer token, Idempotency-Key = keyUuid, JSON body', async () => {
  handler = reply(201);
  const backend = new HttpLockBackend({ baseUrl: `${baseUrl}/`, token: 'tok', requestTimeoutMs: 1_000 });
  await expect(backend.putKey(123, key)).resolves.toBe('created');
  expect(received).toHaveLength(1);
  expect(received[0]).toMatchObject({
    method: 'PUT',
    url: '/locks/123/keys/42',
    body: '{"keyUuid":"k-1","userId":"u-1"}',
  });
  expect(received[0]!.headers).toMatchObject({
    authorization: 'Bearer tok',
    'idempotency-key': 'k-1',
    'content-type': 'application/json',
  });
});

test.each([
  [201, 'created'],
  [200, 'alreadyPresent'],
])('answer %i → %s', async (status, outcome) => {
  handler = reply(status);
  const backend = new HttpLockBackend({ baseUrl, token: 't', requestTimeoutMs: 1_000 });
  await expect(backend.putKey(1, key)).resolves.toBe(outcome);
});

test.each([
  [404, 'LockNotFound'],
  [409, 'SlotOccupied'],
  [422, 'KeyIndexOutOfRange'],
  [429, 'LockBusy'],
  [503, 'LockOffline'],
  [500, 'LockBackendError'],
  [502, 'LockBackendError'],
  [401, 'LockBackendError'],
  [400, 'LockBackendError'],
])('answer %i → LockBackendError of type %s with the backend message', async (status, type) => {
  handler = reply(status, { message: `because ${status}` });
  const backend = new HttpLockBackend({ baseUrl, token: 't', requestTimeoutMs: 1_000 });
  const error = await backend.putKey(1, key).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(LockBackendError);
  expect(error).toMatchObject({ type, httpStatus: status });
  expect((error as Error).message).toContain(`because ${status}`);
});

test('no answer within the timeout → LockBackendUnreachable', async () => {
  handler = () => undefined; // never answers
  const backend = new HttpLockBackend({ baseUrl, token: 't', requestTimeoutMs: 200 });
  await expect(backend.putKey(1, key)).rejects.toMatchObject({ type: 'LockBackendUnreachable', httpStatus: null });
});

test('connection refused → LockBackendUnreachable', async () => {
  const backend = new HttpLockBackend({ baseUrl: 'http://127.0.0.1:1', token: 't', requestTimeoutMs: 1_000 });
  await expect(backend.putKey(1, key)).rejects.toMatchObject({ type: 'LockBackendUnreachable' });
});

test('a socket closed without an answer (reply dropped) → LockBackendUnreachable, so Temporal retries', async () => {
  handler = (req) => req.socket.destroy();
  const backend = new HttpLockBackend({ baseUrl, token: 't', requestTimeoutMs: 1_000 });
  await expect(backend.putKey(1, key)).rejects.toMatchObject({ type: 'LockBackendUnreachable' });
});
