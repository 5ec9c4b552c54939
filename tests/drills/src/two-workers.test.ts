import { Client, Connection } from '@temporalio/client';
import { DrillStack, expectEveryKeyAddedOnce, freshAddKey, GAP_MS, report, sleep, startBatch } from './support';

/** Drill 6: two workers on the task queue; the one with a command at the lock is killed (SIGKILL). */
let drill: DrillStack;
let connection: Connection;

beforeAll(async () => {
  drill = await DrillStack.start('two-workers');
  connection = await Connection.connect({ address: drill.stack.temporalAddress });
});

afterAll(async () => {
  await connection?.close();
  await drill?.stop();
});

test('with two workers, killing the one with a command at the lock loses no key and doubles none', async () => {
  const startedAt = Date.now();
  const workers = [drill.stack.services.worker!, await drill.startExtraWorker()];
  // Slow commands (3 s) so that the victim holds one at the lock when it dies.
  await drill.setFaults({ latencyMs: 3_000, slowRate: 1 });
  const runs = await startBatch(drill, 'two', 61, 62);
  await drill.commandsReached([61, 62], 2);

  const attempt = await freshAddKey(new Client({ connection }), runs);
  const victim = workers.find((w) => attempt.workerIdentity.startsWith(`${w.pid}@`))!;
  const survivor = workers.find((w) => w !== victim)!;
  await sleep(attempt.startedAt + GAP_MS + 500 - Date.now());
  await victim.stop('SIGKILL');
  await expect(victim.exited).resolves.toBeNull();
  await drill.setFaults({ latencyMs: 0 });

  const bodies = await drill.closedRuns(runs);
  const figures = await expectEveryKeyAddedOnce(drill, runs, bodies);
  // The victim's command took effect at the lock; the survivor's retry of it was a 200 replay.
  expect(figures.replays).toBeGreaterThan(0);
  let survivorExited = false;
  void survivor.exited.then(() => (survivorExited = true));
  await new Promise((r) => setImmediate(r));
  expect(survivorExited).toBe(false);
  report('6 two workers, one kill -9', startedAt, figures, `killed ${victim.name}`);
});
