import { drillStack, killWorkerWithCommandAtLock, report } from './support';

/** Drill 6: two workers on the task queue; the one with a command at the lock is killed (SIGKILL). */
const drill = drillStack('two-workers');

test('with two workers, killing the one with a command at the lock loses no key and doubles none', async () => {
  const startedAt = Date.now();
  const workers = [drill.services.worker!, await drill.startExtraWorker()] as const;
  const { victim, figures } = await killWorkerWithCommandAtLock(drill, workers, 'two', 61, 62);
  report('6 two workers, one kill -9', startedAt, figures, `killed ${victim.name}`);
});
