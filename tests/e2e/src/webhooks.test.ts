import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runClosedEventSchema, webhookEndpointWorkflowId, type RunClosedEvent } from '@lockkeys/contracts';
import {
  eventually,
  expectStatus,
  keysFor,
  parsePrometheusText,
  sampleValue,
  scratchDir,
  TestStack,
} from '@lockkeys/testing';
import { Webhook } from 'standardwebhooks';

/**
 * Completion webhooks to a real receiver on 127.0.0.1: signed as Standard Webhooks, delivered per endpoint (one
 * workflow per organization holds its events in order and backs off as a unit), retried under the same `webhook-id`,
 * never holding a lock nor a run's result; `GET /webhooks` and `/metrics` say how the endpoint stands.
 */
const SECRET = `whsec_${Buffer.from('e2e-webhook-secret-32-bytes-long').toString('base64')}`;

interface Delivery {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

/** Answers each attempt with what `answer` says for it (by its number for that webhook-id). */
let answer: (attempt: number) => number | 'hang' = () => 204;
const deliveries: Delivery[] = [];
let receiver: Server;
let receiverPort: number;
let stack: TestStack;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      const attempt = deliveries.filter((d) => String(d.headers['webhook-id']) === id).length + 1;
      const status = answer(attempt);
      deliveries.push({
        at: Date.now(),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        answered: status === 'hang' ? 0 : status,
      });
      if (status !== 'hang') res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverPort = (receiver.address() as AddressInfo).port;
  const file = join(scratchDir('webhooks-file'), 'webhooks.json');
  // A token in the query, as some receivers want: GET /webhooks must not show it.
  const url = `http://127.0.0.1:${receiverPort}/lockkeys?token=not-for-your-eyes`;
  writeFileSync(file, JSON.stringify({ webhooks: [{ orgId: 'dev', url, secret: SECRET }] }));
  stack = await TestStack.start({ name: 'webhooks', env: { WEBHOOKS_FILE: file, WEBHOOK_TIMEOUT_MS: '2000' } });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

const ofRun = (instanceId: string) =>
  deliveries.filter((d) => (JSON.parse(d.body) as RunClosedEvent).data.instanceId === instanceId);

const endpointHistory = async () =>
  (await (await stack.temporalClient()).workflow.getHandle(webhookEndpointWorkflowId('dev')).fetchHistory()).events ??
  [];
const endpoint = async () => expectStatus(await stack.gateway.webhooks(), 200).webhooks;

test('a receiver that fails twice, then accepts: three signed attempts under one webhook-id, one accepted', async () => {
  answer = (attempt) => (attempt <= 2 ? 500 : 204);
  const { instanceId } = await stack.gateway.startRun(901, keysFor(901, [1, 2], 'hook'));
  const closed = await stack.gateway.waitForRun(901, instanceId, { until: (run) => run.status === 'complete' });

  const attempts = await eventually(
    async () => (ofRun(instanceId).some((d) => d.answered === 204) ? ofRun(instanceId) : undefined),
    60_000,
    'the third attempt to be accepted',
  );
  expect(attempts.map((d) => d.answered)).toEqual([500, 500, 204]);
  expect(new Set(attempts.map((d) => d.headers['webhook-id'])).size).toBe(1);
  // The endpoint backs off as a unit: 1 s, then 2 s; the first attempt comes only after the run closed.
  expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(900);
  expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(1_900);
  expect(attempts[0]!.at).toBeGreaterThanOrEqual(Date.parse(closed.closedAt!));

  const verifier = new Webhook(SECRET);
  for (const attempt of attempts) {
    const event = runClosedEventSchema.parse(
      verifier.verify(attempt.body, {
        'webhook-id': String(attempt.headers['webhook-id']),
        'webhook-timestamp': String(attempt.headers['webhook-timestamp']),
        'webhook-signature': String(attempt.headers['webhook-signature']),
      }),
    );
    // The body is the run's status as GET answers it, stamped with its close.
    expect(event).toEqual({ type: 'bulkAddKeys.complete', timestamp: closed.closedAt, data: closed });
  }
  // Each attempt is signed anew: a replayed old signature with a new timestamp would not verify.
  expect(new Set(attempts.map((d) => d.headers['webhook-timestamp'])).size).toBeGreaterThan(1);

  // Every attempt is a delivery activity of the endpoint's workflow (what the Web UI shows), with its back-off timers.
  const events = await endpointHistory();
  const deliveries = events.filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deliverWebhookEvents',
  );
  expect(deliveries).toHaveLength(3);
  expect(
    events.filter((e) => {
      const seconds = Number(e.timerStartedEventAttributes?.startToFireTimeout?.seconds ?? 0);
      return e.timerStartedEventAttributes && seconds < 60; // back-offs, not the idle timer
    }),
  ).toHaveLength(2);
  expect(await endpoint()).toEqual([
    {
      url: `http://127.0.0.1:${receiverPort}/lockkeys`,
      state: 'healthy',
      since: expect.any(String),
      pending: 0,
      oldestPendingAt: null,
      lastError: expect.stringMatching(/answered 500/),
    },
  ]);

  const metrics = parsePrometheusText(await (await fetch(stack.workerMetricsUrl)).text());
  expect(sampleValue(metrics, 'lockkeys_webhook_deliveries_total', { outcome: 'failed' })).toBeGreaterThanOrEqual(2);
  expect(sampleValue(metrics, 'lockkeys_webhook_deliveries_total', { outcome: 'delivered' })).toBeGreaterThanOrEqual(1);
}, 120_000);

test('a receiver that hangs never holds the lock nor the run; the endpoint turns failing, GET /webhooks and /metrics say so', async () => {
  answer = () => 'hang';
  const first = await stack.gateway.startRun(902, keysFor(902, [1], 'down'));
  const second = await stack.gateway.startRun(902, keysFor(902, [2], 'down'));
  const closedFirst = await stack.gateway.waitForRun(902, first.instanceId, {
    until: (run) => run.status === 'complete',
  });
  const closedSecond = await stack.gateway.waitForRun(902, second.instanceId, {
    until: (run) => run.status === 'complete',
  });
  // The second run got the lock about a gap after the first one's only command, not after a webhook timeout.
  expect(Date.parse(closedSecond.closedAt!) - Date.parse(closedFirst.closedAt!)).toBeLessThan(5_000);
  // Three attempts of 2 s (WEBHOOK_TIMEOUT_MS) each, with their back-off: failing, both events waiting, in order.
  const [failing] = await eventually(
    async () => {
      const shown = await endpoint();
      return shown[0]?.state === 'failing' ? shown : undefined;
    },
    60_000,
    'the endpoint to turn failing',
  );
  expect(failing).toMatchObject({ pending: 2, lastError: expect.stringMatching(/did not answer/) });
  expect(Date.parse(failing!.since!)).toBeGreaterThanOrEqual(Date.parse(closedFirst.closedAt!));
  // Only the first event was ever attempted: the endpoint waits as a unit.
  expect(ofRun(second.instanceId)).toEqual([]);
  const metrics = await stack.gateway.metrics();
  expect(sampleValue(metrics, 'lockkeys_webhook_pending', { org: 'dev' })).toBe(2);
  expect(sampleValue(metrics, 'lockkeys_webhook_failing', { org: 'dev' })).toBe(1);
}, 120_000);

test('down for 300 run closes, then back: all 300 events arrive, distinct ids, each for its run, within 2 minutes', async () => {
  answer = () => 204;
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  const lockIds = Array.from({ length: 300 }, (_, i) => 3_000 + i);
  const runs: string[] = [];
  for (let i = 0; i < lockIds.length; i += 50) {
    const started = await Promise.all(
      lockIds.slice(i, i + 50).map((lockId) => stack.gateway.startRun(lockId, keysFor(lockId, [1], 'storm'))),
    );
    runs.push(...started.map((run) => run.instanceId));
  }
  const client = await stack.temporalClient();
  await eventually(
    async () => {
      const query = `WorkflowType = 'bulkAddKeys' AND LockId >= 3000 AND LockId < 3300 AND ExecutionStatus = 'Completed'`;
      return (await client.workflow.count(query)).count === 300 ? true : undefined;
    },
    180_000,
    'the 300 runs to close',
  );
  await eventually(
    async () => ((await endpoint())[0]!.pending >= 300 ? true : undefined),
    30_000,
    'the 300 events (and the earlier two) to wait at the endpoint',
  );

  const backAt = Date.now();
  await new Promise<void>((resolve) => receiver.listen(receiverPort, '127.0.0.1', resolve));
  const expected = new Set(runs);
  const arrived = await eventually(
    async () => {
      const ofStorm = deliveries.filter(
        (d) => d.at >= backAt && expected.has((JSON.parse(d.body) as RunClosedEvent).data.instanceId),
      );
      return new Set(ofStorm.map((d) => (JSON.parse(d.body) as RunClosedEvent).data.instanceId)).size === 300
        ? ofStorm
        : undefined;
    },
    150_000,
    'all 300 events after the receiver came back',
    250,
  );
  const lastAt = Math.max(...arrived.map((d) => d.at));
  expect(lastAt - backAt).toBeLessThanOrEqual(120_000);
  const ids = new Map<string, string>();
  for (const delivery of arrived) {
    const event = JSON.parse(delivery.body) as RunClosedEvent;
    const id = String(delivery.headers['webhook-id']);
    // At least once: an id seen twice is the same event again, never another run's.
    expect(ids.get(id) ?? event.data.instanceId).toBe(event.data.instanceId);
    ids.set(id, event.data.instanceId);
  }
  expect(new Set(ids.values())).toEqual(expected);
  expect(ids.size).toBe(300);
  const firstAt = Math.min(...arrived.map((d) => d.at));
  expect(await endpoint()).toMatchObject([{ state: 'healthy', pending: 0 }]);
  process.stdout.write(
    `webhooks: 300 events waited for a receiver that was down; back → first of them after ${firstAt - backAt} ms, ` +
      `last after ${lastAt - backAt} ms (${arrived.length} deliveries)\n`,
  );
}, 420_000);
