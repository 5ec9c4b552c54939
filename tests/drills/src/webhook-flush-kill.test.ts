import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type RunClosedEvent } from '@lockkeys/contracts';
import { eventually, expectStatus, keysFor, scratchDir, sleep } from '@lockkeys/testing';
import { drillStack } from './support';

const SECRET = `whsec_${Buffer.from('drill-webhook-secret-32-bytes-ok').toString('base64')}`;

/** Every request the receiver got: its webhook-id and run, in arrival order. */
const arrivals: { at: number; webhookId: string; instanceId: string }[] = [];
let up = false;
const receiver: Server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (!up) return void res.writeHead(503).end();
    const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RunClosedEvent;
    arrivals.push({ at: Date.now(), webhookId: String(req.headers['webhook-id']), instanceId: event.data.instanceId });
    // A receiver that takes its time: the backlog's flush lasts long enough to be killed in the middle.
    setTimeout(() => res.writeHead(204).end(), 40);
  });
});
const webhooksFile = join(scratchDir('drill-webhooks'), 'webhooks.json');
beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  writeFileSync(webhooksFile, JSON.stringify({ webhooks: [{ orgId: 'dev', url, secret: SECRET }] }));
});
afterAll(() => new Promise((resolve) => receiver.close(resolve)));

/** Drill 12: the only worker is killed (SIGKILL) while an endpoint's backlog flows out; a new worker goes on. */
const drill = drillStack('webhook-flush-kill', { WEBHOOKS_FILE: webhooksFile, WEBHOOK_PROBE_MS: '2000' });

test('worker kill -9 during a backlog flush: every event still arrives (at least once, by webhook-id)', async () => {
  const startedAt = Date.now();
  const lockIds = Array.from({ length: 120 }, (_, i) => 1_200 + i);
  const runs: string[] = [];
  for (let i = 0; i < lockIds.length; i += 40) {
    const started = await Promise.all(
      lockIds.slice(i, i + 40).map((lockId) => drill.gateway.startRun(lockId, keysFor(lockId, [1], 'flush'))),
    );
    runs.push(...started.map((run) => run.instanceId));
  }
  await eventually(
    async () => {
      const [endpoint] = expectStatus(await drill.gateway.webhooks(), 200).webhooks;
      return endpoint && endpoint.pending >= runs.length ? endpoint : undefined;
    },
    180_000,
    'the backlog of every run’s event',
  );

  up = true;
  await eventually(async () => (arrivals.length >= 20 ? true : undefined), 30_000, 'the flush to be under way');
  const worker = drill.services.worker!;
  const killedAt = Date.now();
  const beforeKill = arrivals.length;
  await worker.stop('SIGKILL');
  await sleep(500);
  await drill.start('worker');

  const expected = new Set(runs);
  await eventually(
    async () => (new Set(arrivals.map((a) => a.instanceId)).size >= expected.size ? true : undefined),
    120_000,
    'every event after the kill',
  );
  const ids = new Map<string, string>();
  for (const arrival of arrivals) {
    expect(ids.get(arrival.webhookId) ?? arrival.instanceId).toBe(arrival.instanceId);
    ids.set(arrival.webhookId, arrival.instanceId);
  }
  expect(new Set(ids.values())).toEqual(expected);
  const resent = arrivals.length - ids.size;
  const lastAt = Math.max(...arrivals.map((a) => a.at));
  process.stdout.write(
    `drill 12 webhook backlog flush, worker kill -9: ${((Date.now() - startedAt) / 1000).toFixed(1)} s; ` +
      `${expected.size} events, ${beforeKill} arrived before the kill, all ${ids.size} after it ` +
      `(${resent} sent twice: at least once), the last ${((lastAt - killedAt) / 1000).toFixed(1)} s after the kill\n`,
  );
}, 400_000);
