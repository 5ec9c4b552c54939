import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runClosedEventSchema, webhookWorkflowId, type RunClosedEvent } from '@lockkeys/contracts';
import { eventually, keysFor, parsePrometheusText, sampleValue, scratchDir, TestStack } from '@lockkeys/testing';
import { Webhook } from 'standardwebhooks';

/**
 * Completion webhooks to a real receiver on 127.0.0.1: signed as Standard Webhooks, retried with back-off under the
 * same `webhook-id`, delivered by a workflow of their own after the run closed, so a failing receiver never holds
 * the lock nor the run's result.
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
  const file = join(scratchDir('webhooks-file'), 'webhooks.json');
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/lockkeys`;
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
  // Back-off between attempts (5 s, then 10 s); the first comes only after the run closed.
  expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(4_500);
  expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(9_500);
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
    expect(event.type).toBe('bulkAddKeys.complete');
    expect(event.data).toMatchObject({ instanceId, lockId: 901, status: 'complete', summary: closed.summary });
    expect(event.data.keys).toEqual(closed.keys);
  }
  // Each attempt is signed anew: a replayed old signature with a new timestamp would not verify.
  expect(new Set(attempts.map((d) => d.headers['webhook-timestamp'])).size).toBeGreaterThan(1);

  // Every attempt is its own activity in the delivery's history (what the Web UI shows), with the back-off timers.
  const history = await (await stack.temporalClient()).workflow.getHandle(webhookWorkflowId(instanceId)).fetchHistory();
  const events = history.events ?? [];
  expect(
    events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'postWebhook'),
  ).toHaveLength(3);
  expect(events.filter((e) => e.activityTaskFailedEventAttributes)).toHaveLength(2);
  expect(events.filter((e) => e.timerStartedEventAttributes)).toHaveLength(2);

  const metrics = parsePrometheusText(await (await fetch(stack.workerMetricsUrl)).text());
  expect(sampleValue(metrics, 'lockkeys_webhook_deliveries_total', { outcome: 'failed' })).toBeGreaterThanOrEqual(2);
  expect(sampleValue(metrics, 'lockkeys_webhook_deliveries_total', { outcome: 'delivered' })).toBeGreaterThanOrEqual(1);
}, 120_000);

test('a receiver that is down for good never holds the lock nor the run: runs on that lock complete on time', async () => {
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
  await eventually(async () => (ofRun(first.instanceId).length > 0 ? true : undefined), 30_000, 'a first attempt');
  const delivery = await (
    await stack.temporalClient()
  ).workflow
    .getHandle(webhookWorkflowId(first.instanceId))
    .describe();
  expect(delivery.status.name).toBe('RUNNING'); // still retrying, for WEBHOOK_RETRY_HOURS
}, 90_000);
