import { batchWithCommandAtLock, closedRuns, drillStack, expectEveryKeyAddedOnce, report } from './support';

/** Drill 6: two workers on the task queue; the one with a command at the lock is killed (SIGKILL). */
const drill = drillStack('two-workers');

test('with two workers, killing the one with a command at the lock loses no key and doubles none', async () => {
  const startedAt = Date.now();
  const workers = [drill.services.worker!, await drill.startExtraWorker()];
  // The victim: the worker running the attempt whose command is at the lock.
  const { runs, attempt } = await batchWithCommandAtLock(drill, 'two', 61, 62);
  const victim = workers.find((w) => attempt.workerIdentity.startsWith(`${w.pid}@`))!;
  const survivor = workers.find((w) => w !== victim)!;
  await victim.stop('SIGKILL');
  await expect(victim.exited).resolves.toBeNull();
  await drill.simulator.setFaults({ latencyMs: 0 });

  const bodies = await closedRuns(drill, runs);
  const figures = await expectEveryKeyAddedOnce(drill, runs, bodies);
  // The victim's command took effect at the lock; the survivor's retry of it was a 200 replay.
  expect(figures.replays).toBeGreaterThan(0);
  let survivorExited = false;
  void survivor.exited.then(() => (survivorExited = true));
  await new Promise((r) => setImmediate(r));
  expect(survivorExited).toBe(false);
  report('6 two workers, one kill -9', startedAt, figures, `killed ${victim.name}`);
});
