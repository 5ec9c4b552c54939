import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import {
  webhookEndpointQuery,
  webhookEndpointWorkflowId,
  webhookEventSignal,
  type RunClosedEvent,
  type RunSettings,
} from '@lockkeys/contracts';
import { devServerForSuite, startRun, testKeys, testSettings, testWorkers, until } from './testing/environment';
import { ScriptedLockBackend } from './testing/scripted-lock-backend';

/** One organization's endpoint as a workflow, against a real receiver on 127.0.0.1 and a real dev server. */
const suite = devServerForSuite();

const SECRET = `whsec_${Buffer.from('endpoint-test-secret-0123456789ab').toString('base64')}`;

interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  event: RunClosedEvent;
  answered: number;
}

/** A receiver that answers `status()` (as it is when the request arrives); every request it got, in order. */
async function receiver(status: () => number) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answered = status();
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RunClosedEvent;
      received.push({ at: Date.now(), headers: req.headers, event, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return { url, received, close: () => new Promise((resolve) => server.close(resolve)) };
}

const webhookSettings = (over: Partial<RunSettings['webhook']> = {}): RunSettings => {
  const base = testSettings(100);
  return { ...base, webhook: { ...base.webhook, attemptTimeoutMs: 1_000, probeIntervalMs: 2_000, ...over } };
};

/** Workers whose one endpoint is `url`, for an organization of this test only. */
async function endpointWorkers(url: string, settings: RunSettings) {
  const orgId = `org-${randomUUID()}`;
  const { workers, taskQueue } = await testWorkers(
    suite.env,
    new ScriptedLockBackend(),
    settings,
    new Map([[orgId, { url, secret: SECRET }]]),
  );
  const endpoint = suite.env.client.workflow.getHandle(webhookEndpointWorkflowId(orgId));
  const view = () => endpoint.query(webhookEndpointQuery);
  return { workers, taskQueue, orgId, endpoint, view };
}

test('events go out in the order their runs closed, each once, with the run’s status and its own webhook-id', async () => {
  const hooks = await receiver(() => 204);
  const { workers, taskQueue, orgId, view } = await endpointWorkers(hooks.url, webhookSettings());
  try {
    await workers.runUntil(async () => {
      const runs = [];
      for (let n = 0; n < 4; n++) {
        const run = await startRun(suite.env, taskQueue, { lockId: 80 + n, keys: testKeys(1, 10 * n), orgId });
        await run.result();
        runs.push(run.workflowId);
      }
      await until(async () => (await view()).delivered === 4);
      expect(hooks.received.map((r) => r.event.data.instanceId)).toEqual(runs);
      expect(hooks.received.every((r) => r.event.type === 'bulkAddKeys.complete')).toBe(true);
      expect(hooks.received.every((r) => r.event.data.status === 'complete' && r.event.data.summary.added === 1)).toBe(
        true,
      );
      expect(new Set(hooks.received.map((r) => r.headers['webhook-id'])).size).toBe(4);
      expect(await view()).toMatchObject({ state: 'healthy', pending: 0, failures: 0, expired: 0 });
    });
  } finally {
    await hooks.close();
  }
});

test('a receiver that is down: one attempt at a time, backing off to the probe interval; failing; then the backlog flows at once, in order', async () => {
  let up = false;
  const hooks = await receiver(() => (up ? 204 : 503));
  const { workers, taskQueue, orgId, view, endpoint } = await endpointWorkers(hooks.url, webhookSettings());
  try {
    await workers.runUntil(async () => {
      const runs: Awaited<ReturnType<typeof startRun>>[] = [];
      // One after another: they close, and so announce, in this order.
      for (let n = 0; n < 6; n++) {
        const run = await startRun(suite.env, taskQueue, { lockId: 90 + n, keys: testKeys(1, 10 * n), orgId });
        await run.result();
        runs.push(run);
      }
      await until(async () => (await view()).state === 'failing', 20_000);
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const whileDown = [...hooks.received];
      // Only the head event was attempted, again and again: the endpoint backs off as a unit.
      expect(new Set(whileDown.map((r) => r.event.data.instanceId))).toEqual(new Set([runs[0]!.workflowId]));
      const gaps = whileDown.slice(1).map((r, i) => r.at - whileDown[i]!.at);
      // 1 s, 2 s, then the 2 s probe interval (a little timer slack either way).
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(800);
      for (const gap of gaps) expect(gap).toBeLessThanOrEqual(3_500);
      expect(await view()).toMatchObject({ state: 'failing', pending: 6, lastError: expect.stringMatching(/503/) });

      up = true;
      const cameBack = Date.now();
      await until(async () => (await view()).pending === 0, 15_000);
      const flowed = hooks.received.filter((r) => r.answered === 204);
      expect(flowed.map((r) => r.event.data.instanceId)).toEqual(runs.map((r) => r.workflowId));
      // At once: the next probe, then every event without a pause.
      expect(flowed.at(-1)!.at - cameBack).toBeLessThan(2_000 + 1_500);
      expect(flowed.at(-1)!.at - flowed[0]!.at).toBeLessThan(1_000);
      // The head event kept its webhook-id through every attempt.
      expect(
        new Set(
          hooks.received
            .filter((r) => r.event.data.instanceId === runs[0]!.workflowId)
            .map((r) => r.headers['webhook-id']),
        ).size,
      ).toBe(1);
      expect(await view()).toMatchObject({ state: 'healthy', failures: 0, delivered: 6 });
      // The timeline: one delivery activity per attempt, not one per event and attempt.
      const { events } = await endpoint.fetchHistory();
      const activities = (events ?? []).filter((e) => e.activityTaskScheduledEventAttributes);
      expect(activities.length).toBeLessThan(whileDown.length + 3);
    });
  } finally {
    await hooks.close();
  }
}, 60_000);

test('an event older than the retry window is dropped, and counted; a repeated announcement goes out once', async () => {
  let up = false;
  const hooks = await receiver(() => (up ? 204 : 500));
  const { workers, taskQueue, orgId, view, endpoint } = await endpointWorkers(
    hooks.url,
    webhookSettings({ retryWindowMs: 3_000 }),
  );
  try {
    await workers.runUntil(async () => {
      const stale = await startRun(suite.env, taskQueue, { lockId: 100, keys: testKeys(1), orgId });
      await stale.result();
      await until(async () => (await view()).expired === 1, 20_000);
      expect(await view()).toMatchObject({ pending: 0, expired: 1 });
      up = true;
      const fresh = await startRun(suite.env, taskQueue, { lockId: 101, keys: testKeys(1, 20), orgId });
      await fresh.result();
      await until(async () => (await view()).delivered === 1);
      // The same event again (a run's announcement retried after its delivery): nothing new goes out.
      const again = hooks.received.find((r) => r.answered === 204)!;
      await endpoint.signal(webhookEventSignal, {
        webhookId: String(again.headers['webhook-id']),
        instanceId: fresh.workflowId,
        type: 'bulkAddKeys.complete',
        announcedAt: Date.now(),
      });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const delivered = hooks.received.filter((r) => r.answered === 204);
      expect(delivered.map((r) => r.event.data.instanceId)).toEqual([fresh.workflowId]);
      expect(hooks.received.every((r) => r.event.data.instanceId !== stale.workflowId || r.answered === 500)).toBe(
        true,
      );
    });
  } finally {
    await hooks.close();
  }
}, 60_000);
