import type { Server } from 'node:http';
import { boundPort, startHealthServer } from './health';

let state = 'INITIALIZED';
let server: Server;
let base: string;

beforeAll(async () => {
  server = await startHealthServer({ getState: () => state as never }, '127.0.0.1', 0);
  base = `http://127.0.0.1:${boundPort(server)}`;
});
afterAll(() => server.close());

test.each([
  ['INITIALIZED', '/readyz', 503],
  ['RUNNING', '/readyz', 200],
  ['STOPPING', '/readyz', 503],
  ['STOPPING', '/healthz', 200],
  ['RUNNING', '/nope', 404],
])('worker %s: %s → %i', async (workerState, path, status) => {
  state = workerState;
  const response = await fetch(`${base}${path}`);
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/json');
  await response.json();
});
