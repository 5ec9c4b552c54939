import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookFailureType, runClosedEventSchema, type RunStatusBody } from '@lockkeys/contracts';
import { Webhook } from 'standardwebhooks';
import { runClosedEvent, webhookIdOf, WebhookSender } from './webhooks';

const SECRET = `whsec_${Buffer.from('a-test-secret-of-32-bytes-length').toString('base64')}`;

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A receiver on 127.0.0.1 that answers each request with the next behaviour. */
async function receiver(behaviour: (req: IncomingMessage, res: ServerResponse) => void) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      behaviour(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return {
    url,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A closed run's status body, as the gateway would answer it. */
const closed: RunStatusBody = {
  instanceId: 'lock-7-abc',
  lockId: 7,
  status: 'complete',
  createdAt: '2026-12-01T10:00:00.000Z',
  closedAt: '2026-12-01T10:00:05.000Z',
  summary: { total: 2, added: 1, failed: 1, pending: 0, cancelled: 0 },
  keys: [
    { keyUuid: 'k1', keyIndexNumber: 1, userId: 'u1', status: 'added', attempts: 1, error: null },
    {
      keyUuid: 'k2',
      keyIndexNumber: 2,
      userId: 'u2',
      status: 'failed',
      attempts: 1,
      error: { type: 'SlotOccupied', message: 'taken' },
    },
  ],
};

test('the event is SPEC’s body, stamped with the run’s close; its webhook-id is the same however often it is built', () => {
  const first = runClosedEvent('acme', closed, 'bulkAddKeys.complete');
  const again = runClosedEvent('acme', structuredClone(closed), 'bulkAddKeys.complete');
  expect(again).toEqual(first);
  expect(first.webhookId).toBe(webhookIdOf('lock-7-abc', 'bulkAddKeys.complete'));
  expect(first.webhookId).toMatch(/^msg_[A-Za-z0-9_-]{27}$/);
  expect(webhookIdOf('lock-7-other', 'bulkAddKeys.complete')).not.toBe(first.webhookId);
  expect(webhookIdOf('lock-7-abc', 'bulkAddKeys.cancelled')).not.toBe(first.webhookId);
  const event = runClosedEventSchema.parse(JSON.parse(first.payload));
  expect(event).toEqual({ type: 'bulkAddKeys.complete', timestamp: '2026-12-01T10:00:05.000Z', data: closed });
});

describe('WebhookSender against a real local receiver', () => {
  const send = (url: string, timeoutMs = 2_000) =>
    new WebhookSender(new Map([['acme', { url, secret: SECRET }]]), timeoutMs).send(
      runClosedEvent('acme', closed, 'bulkAddKeys.complete'),
    );

  test('2xx is delivered, signed so that standardwebhooks verifies it', async () => {
    const hooks = await receiver((_req, res) => res.writeHead(204).end());
    try {
      await expect(send(hooks.url)).resolves.toBe(204);
      const [{ headers, body }] = hooks.received as [Received];
      const verified = new Webhook(SECRET).verify(body, {
        'webhook-id': String(headers['webhook-id']),
        'webhook-timestamp': String(headers['webhook-timestamp']),
        'webhook-signature': String(headers['webhook-signature']),
      });
      expect(verified).toMatchObject({ type: 'bulkAddKeys.complete', data: { instanceId: 'lock-7-abc' } });
      expect(headers['content-type']).toBe('application/json');
      // A tampered body does not verify.
      expect(() =>
        new Webhook(SECRET).verify(body.replace('complete', 'errored'), headers as Record<string, string>),
      ).toThrow();
    } finally {
      await hooks.close();
    }
  });

  test.each<[string, (req: IncomingMessage, res: ServerResponse) => void, string, RegExp]>([
    ['a 500', (_req, res) => res.writeHead(500).end('no'), WebhookFailureType.Rejected, /answered 500/],
    ['a 404', (_req, res) => res.writeHead(404).end(), WebhookFailureType.Rejected, /answered 404/],
    [
      'a redirect (not followed)',
      (_req, res) => res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end(),
      WebhookFailureType.Rejected,
      /answered 302 \(redirects are not followed\)/,
    ],
    ['a closed connection', (req) => req.socket.destroy(), WebhookFailureType.Unreachable, /did not answer/],
    ['no answer in time', () => undefined, WebhookFailureType.Unreachable, /did not answer/],
  ])('%s is a failed attempt of type %s', async (_name, behaviour, type, message) => {
    const hooks = await receiver(behaviour);
    try {
      const error = await send(hooks.url, 500).catch((e: unknown) => e);
      expect(error).toMatchObject({ type, nonRetryable: false, message: expect.stringMatching(message) });
      expect(hooks.received).toHaveLength(1);
      // The failure names the receiver's host, never its path (which may hold a token).
      expect((error as Error).message).not.toContain('/hooks');
    } finally {
      await hooks.close();
    }
  });

  test('an organization without an endpoint fails for good', async () => {
    const sender = new WebhookSender(new Map(), 1_000);
    await expect(sender.send({ orgId: 'nobody', webhookId: 'msg_x', payload: '{}' })).rejects.toMatchObject({
      type: WebhookFailureType.NoEndpoint,
      nonRetryable: true,
    });
  });
});
