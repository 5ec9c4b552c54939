import { loadConfig } from './config';
import { createServer } from 'node:net';
import { instanceIdSchema } from '@lockkeys/contracts';
import {
  createTemporalRunService,
  idempotentInstanceId,
  newInstanceId,
  requestHash,
  TemporalUnavailableError,
} from './temporal';

/** A local port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

test('instanceIds are URL-safe workflow IDs that name the lock', () => {
  const id = newInstanceId(123);
  expect(id).toMatch(/^lock-123-[0-9a-f-]{36}$/);
  expect(instanceIdSchema.safeParse(id).success).toBe(true);
  expect(encodeURIComponent(id)).toBe(id);
  expect(newInstanceId(123)).not.toBe(id);
});

test('with Temporal down the starter is created, reports not ready, and start fails as unavailable', async () => {
  const address = `127.0.0.1:${await closedPort()}`;
  const starter = createTemporalRunService(
    {
      ...loadConfig({ NODE_ENV: 'test' }),
      temporal: { ...loadConfig({ NODE_ENV: 'test' }).temporal, connectionOptions: { address } },
    },
    { startDeadlineMs: 2_000, readyDeadlineMs: 1_000, grpcMaxAttempts: 2 },
  );
  try {
    const startedAt = Date.now();
    await expect(starter.ready()).resolves.toBe(false);
    await expect(
      starter.start({
        input: {
          lockId: 1,
          orgId: 'acme',
          requestedBy: 'alice',
          keys: [{ keyUuid: 'a', keyIndexNumber: 0, userId: 'u' }],
        },
      }),
    ).rejects.toBeInstanceOf(TemporalUnavailableError);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
  } finally {
    await starter.close();
  }
});

test('idempotent instanceIds depend on organization, lock and key, and are URL-safe', () => {
  const id = idempotentInstanceId('acme', 123, 'order-42');
  expect(id).toMatch(/^lock-123-idem-[A-Za-z0-9_-]{32}$/);
  expect(instanceIdSchema.safeParse(id).success).toBe(true);
  expect(idempotentInstanceId('acme', 123, 'order-42')).toBe(id);
  expect(idempotentInstanceId('other', 123, 'order-42')).not.toBe(id);
  expect(idempotentInstanceId('acme', 124, 'order-42')).not.toBe(id.replace('123', '124'));
  expect(idempotentInstanceId('acme', 123, 'order-43')).not.toBe(id);
});

test('the request hash changes with the lock, the keys, and their order', () => {
  const keys = [
    { keyUuid: 'a', keyIndexNumber: 1, userId: 'u' },
    { keyUuid: 'b', keyIndexNumber: 2, userId: 'u' },
  ];
  const base = requestHash({ lockId: 1, keys });
  expect(requestHash({ lockId: 1, keys: keys.map((k) => ({ ...k })) })).toBe(base);
  expect(requestHash({ lockId: 2, keys })).not.toBe(base);
  expect(requestHash({ lockId: 1, keys: [...keys].reverse() })).not.toBe(base);
  expect(requestHash({ lockId: 1, keys: [{ ...keys[0]!, userId: 'v' }, keys[1]!] })).not.toBe(base);
});
