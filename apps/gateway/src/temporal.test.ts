import { createServer } from 'node:net';
import { instanceIdSchema } from '@lockkeys/contracts';
import { createTemporalWorkflowStarter, newInstanceId, TemporalUnavailableError } from './temporal';

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
  const starter = createTemporalWorkflowStarter(
    { temporal: { address, namespace: 'default', taskQueue: 'lock-keys' } },
    { startDeadlineMs: 2_000, readyDeadlineMs: 1_000, grpcMaxAttempts: 2 },
  );
  try {
    const startedAt = Date.now();
    await expect(starter.ready()).resolves.toBe(false);
    await expect(
      starter.start({
        lockId: 1,
        orgId: 'acme',
        requestedBy: 'alice',
        keys: [{ keyUuid: 'a', keyIndexNumber: 0, userId: 'u' }],
      }),
    ).rejects.toBeInstanceOf(TemporalUnavailableError);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
  } finally {
    await starter.close();
  }
});
