import { request as httpRequest } from 'node:http';
import { sign } from 'jsonwebtoken';
import { AUTH_FAILURE_REASONS } from './errors';
import { type Outgoing, parsePrometheusText, type PromSample, sampleValue, send } from '@lockkeys/testing';
import { FakeRunService } from './testing/fake-run-service';
import { configForSuite, gatewayPerTest, startGateway, type TestGateway } from './testing/gateway-harness';

const SECRET = 'metrics-test-secret-0123456789-abcdefg';
const ACME_KEY = 'lk_metrics_acme_000000000000000000001';
const keys = [{ keyUuid: 'uuid-1', keyIndexNumber: 1, userId: 'user-1' }];

const config = configForSuite([{ id: 'acme-1', key: ACME_KEY, orgId: 'acme', locks: [123] }], {
  JWT_SECRET: SECRET,
  RATE_LIMIT_PER_MINUTE: '5',
});

const token = (claims: object = {}) =>
  sign({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 300, ...claims }, SECRET);
const credentials = () => ({ authorization: `Bearer ${token()}`, 'x-api-key': ACME_KEY });
const start = (headers: Record<string, string> = {}): Outgoing => ({
  method: 'POST',
  path: '/locks/123/BulkAddKeys',
  headers: { ...credentials(), 'content-type': 'application/json', ...headers },
  body: JSON.stringify({ keys }),
});
const get = (path: string, headers: Record<string, string> = {}): Outgoing => ({ method: 'GET', path, headers });

async function scrape(gateway: TestGateway): Promise<PromSample[]> {
  const answer = await send(gateway.port, get('/metrics'));
  expect(answer.status).toBe(200);
  expect(answer.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(answer.text);
}

describe('GET /metrics', () => {
  const gateway = gatewayPerTest(config);

  test('counts requests by route pattern, method and status; workflows, auth failures by reason, rate limiting', async () => {
    const RUN = '/locks/123/BulkAddKeys/lock-123-fake-1';
    const statuses: number[] = [];
    for (const request of [
      start(),
      start({ 'idempotency-key': 'order-1' }),
      start({ 'idempotency-key': 'order-1' }),
      get(RUN, credentials()),
      get('/locks/123/BulkAddKeys/lock-123-fake-2', credentials()),
      get(RUN, credentials()),
      // Authentication failures: each its own reason, none spends the key's budget.
      { ...start(), headers: { 'content-type': 'application/json', 'x-api-key': ACME_KEY } },
      start({ 'x-api-key': 'lk_nobody' }),
      get(RUN, {
        authorization: `Bearer ${token({ exp: Math.floor(Date.now() / 1000) - 60 })}`,
        'x-api-key': ACME_KEY,
      }),
      // Unknown routes and methods: whatever the URL, one label value.
      get('/nope'),
      get('/locks-and-keys/1'),
      { ...get('/healthz'), method: 'DELETE' },
    ]) {
      statuses.push((await send(gateway.port, request)).status);
    }
    expect(statuses).toEqual([202, 202, 202, 200, 200, 429, 401, 401, 401, 404, 404, 405]);

    const samples = await scrape(gateway);
    const requests = (route: string, method: string, status: string) =>
      sampleValue(samples, 'http_requests_total', { route, method, status });
    expect({
      started: requests('/locks/:lockId/BulkAddKeys', 'POST', '202'),
      read: requests('/locks/:lockId/BulkAddKeys/:instanceId', 'GET', '200'),
      // Refused before the route ran, still labelled with the route it was meant for.
      rateLimited: requests('/locks/:lockId/BulkAddKeys/:instanceId', 'GET', '429'),
      unauthorizedStarts: requests('/locks/:lockId/BulkAddKeys', 'POST', '401'),
      unauthorizedReads: requests('/locks/:lockId/BulkAddKeys/:instanceId', 'GET', '401'),
      unmatchedGets: requests('unmatched', 'GET', '404'),
      unmatchedDeletes: requests('unmatched', 'DELETE', '405'),
    }).toEqual({
      started: 3,
      read: 2,
      rateLimited: 1,
      unauthorizedStarts: 2,
      unauthorizedReads: 1,
      unmatchedGets: 2,
      unmatchedDeletes: 1,
    });
    const routes = new Set(samples.filter((s) => s.name === 'http_requests_total').map((s) => s.labels.route));
    expect([...routes].sort()).toEqual([
      '/locks/:lockId/BulkAddKeys',
      '/locks/:lockId/BulkAddKeys/:instanceId',
      'unmatched',
    ]);

    const startedLabels = { route: '/locks/:lockId/BulkAddKeys', method: 'POST', status: '202' };
    expect(sampleValue(samples, 'http_request_duration_seconds_count', startedLabels)).toBe(3);
    expect(sampleValue(samples, 'http_request_duration_seconds_bucket', { ...startedLabels, le: '+Inf' })).toBe(3);
    expect(sampleValue(samples, 'http_request_duration_seconds_bucket', { ...startedLabels, le: '30' })).toBe(3);
    expect(sampleValue(samples, 'http_request_duration_seconds_sum', startedLabels)).toBeGreaterThan(0);

    expect(sampleValue(samples, 'lockkeys_workflows_started_total', { replayed: 'false' })).toBe(2);
    expect(sampleValue(samples, 'lockkeys_workflows_started_total', { replayed: 'true' })).toBe(1);
    expect(gateway.runs.started).toHaveLength(2);

    const authFailures = samples.filter((s) => s.name === 'lockkeys_auth_failures_total');
    // Every reason is there from the start, at 0, so rate() works before the first failure.
    expect(authFailures.map((s) => s.labels.reason).sort()).toEqual([...AUTH_FAILURE_REASONS].sort());
    const counted = Object.fromEntries(authFailures.filter((s) => s.value > 0).map((s) => [s.labels.reason, s.value]));
    expect(counted).toEqual({ missing_jwt: 1, unknown_api_key: 1, expired: 1 });
    expect(sampleValue(samples, 'lockkeys_rate_limited_total')).toBe(1);
  });

  test('includes the Node.js process metrics, needs no credentials, and counts scrapes once each', async () => {
    const first = await scrape(gateway);
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect([name, first.some((sample) => sample.name === name)]).toEqual([name, true]);
    }
    // A scrape is counted when its answer is done, so the next scrape shows it: one label set, no feedback loop.
    expect(sampleValue(first, 'http_requests_total', { route: '/metrics' })).toBe(0);
    const second = await scrape(gateway);
    expect(sampleValue(second, 'http_requests_total', { route: '/metrics', method: 'GET', status: '200' })).toBe(1);
    // Nor do scrapes fill the log: their access line is at debug level, below the default info.
    expect(gateway.logs.filter((line) => line.includes('"path":"/metrics"'))).toEqual([]);
  });

  test('each app has its own registry: two gateways in one process do not share counts', async () => {
    const other = await startGateway(config());
    try {
      expect((await send(gateway.port, start())).status).toBe(202);
      expect(sampleValue(await scrape(gateway), 'lockkeys_workflows_started_total', { replayed: 'false' })).toBe(1);
      expect(sampleValue(await scrape(other), 'lockkeys_workflows_started_total', { replayed: 'false' })).toBe(0);
    } finally {
      await other.close();
    }
  });

  test('a request whose client leaves before the answer is counted as aborted', async () => {
    let startCalled!: () => void;
    const called = new Promise<void>((resolve) => (startCalled = resolve));
    // Temporal that never answers, so the client gives up first.
    gateway.runs.start = () => {
      startCalled();
      return new Promise(() => undefined);
    };
    const outgoing = start();
    const request = httpRequest({
      host: '127.0.0.1',
      port: gateway.port,
      method: 'POST',
      path: outgoing.path,
      headers: outgoing.headers,
    });
    request.on('error', () => undefined);
    request.end(outgoing.body);
    await called;
    request.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const samples = await scrape(gateway);
    expect(
      sampleValue(samples, 'http_requests_total', {
        route: '/locks/:lockId/BulkAddKeys',
        method: 'POST',
        status: 'aborted',
      }),
    ).toBe(1);
  });
});

describe('webhook endpoints on /metrics', () => {
  test('pending and failing per organization with an endpoint, read at scrape time; one that cannot be read is left out', async () => {
    const endpoints = new Map([
      ['acme', { url: 'https://hooks.example.com/a', secret: `whsec_${Buffer.alloc(32).toString('base64')}` }],
      ['globex', { url: 'https://hooks.example.com/g', secret: `whsec_${Buffer.alloc(32).toString('base64')}` }],
    ]);
    const runs = new FakeRunService();
    const shown = { url: '', since: null, oldestPendingAt: null, lastError: null };
    runs.endpoints.set('acme', [{ ...shown, state: 'failing', pending: 300 }]);
    runs.endpoints.set('globex', [{ ...shown, state: 'healthy', pending: 0 }]);
    const gateway = await startGateway({ ...config(), webhooks: endpoints }, runs);
    try {
      let samples = await scrape(gateway);
      expect(sampleValue(samples, 'lockkeys_webhook_pending', { org: 'acme' })).toBe(300);
      expect(sampleValue(samples, 'lockkeys_webhook_failing', { org: 'acme' })).toBe(1);
      expect(sampleValue(samples, 'lockkeys_webhook_pending', { org: 'globex' })).toBe(0);
      expect(sampleValue(samples, 'lockkeys_webhook_failing', { org: 'globex' })).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      runs.unavailable = true;
      samples = await scrape(gateway);
      expect(samples.filter((s) => s.name.startsWith('lockkeys_webhook_'))).toEqual([]);
    } finally {
      await gateway.close();
    }
  });

  test('no endpoint configured: no webhook series at all', async () => {
    const gateway = await startGateway(config());
    try {
      expect((await scrape(gateway)).filter((s) => s.name.startsWith('lockkeys_webhook_'))).toEqual([]);
    } finally {
      await gateway.close();
    }
  });
});
