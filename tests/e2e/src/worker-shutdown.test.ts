import { progressQuery, type BulkAddKeysProgress } from '@lockkeys/contracts';
import { mintJwt, startStack, type Stack } from '@lockkeys/dev-stack';
import { DEV_API_KEY, DEV_JWT_SECRET } from '@lockkeys/contracts';
import { Client, Connection } from '@temporalio/client';
import { eventually, freePorts, journal, LOCK_TOKEN, ROOT_DIR, scratchDir } from './harness';

/** SIGTERM to the worker while a command is at the lock: the command finishes, nothing is sent twice. */
let stack: Stack;
let connection: Connection;

beforeAll(async () => {
  stack = await startStack({
    rootDir: ROOT_DIR,
    dataDir: scratchDir('shutdown'),
    ports: await freePorts(),
    env: { LOG_LEVEL: 'warn' },
    print: () => undefined,
  });
  connection = await Connection.connect({ address: stack.temporalAddress });
});

afterAll(async () => {
  await connection?.close();
  await stack?.stop();
});

const setFaults = (faults: object) =>
  fetch(`${stack.simulatorUrl}/faults`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${LOCK_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });

test('the in-flight addKey finishes before the worker exits; a new worker completes the run without a repeat', async () => {
  await setFaults({ latencyMs: 2_500 }); // a slow hub: the command is at the lock for 2.5 s
  const response = await fetch(`${stack.gatewayUrl}/locks/401/BulkAddKeys`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${mintJwt(DEV_JWT_SECRET, { sub: 'e2e' })}`,
      'x-api-key': DEV_API_KEY,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      keys: [1, 2, 3].map((i) => ({ keyUuid: `shutdown-${i}`, keyIndexNumber: i, userId: 'u' })),
    }),
  });
  expect(response.status).toBe(202);
  const { instanceId } = (await response.json()) as { instanceId: string };
  const handle = new Client({ connection }).workflow.getHandle(instanceId);

  await eventually(
    async () => ((await handle.query(progressQuery)).keys[0]?.status === 'adding' ? true : undefined),
    10_000,
    'the first key to be in flight',
  );
  await new Promise((r) => setTimeout(r, 500));
  const worker = stack.services.worker!;
  const stopping = worker.stop('SIGTERM');
  await expect(worker.exited).resolves.toBe(0);
  await stopping;
  // The worker waited for the lock's answer: the first key is in the journal, once.
  expect((await journal(stack.simulatorUrl, 401)).map((c) => [c.keyUuid, c.status])).toEqual([['shutdown-1', 201]]);

  await setFaults({ latencyMs: 0 });
  await stack.start('worker');
  const result = (await handle.result()) as BulkAddKeysProgress;
  expect(result.keys.map((k) => [k.status, k.attempts])).toEqual([
    ['added', 1],
    ['added', 1],
    ['added', 1],
  ]);
  expect((await journal(stack.simulatorUrl, 401)).map((c) => [c.keyUuid, c.status])).toEqual([
    ['shutdown-1', 201],
    ['shutdown-2', 201],
    ['shutdown-3', 201],
  ]);
});
