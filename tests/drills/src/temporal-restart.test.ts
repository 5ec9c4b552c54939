import { eventually, sleep } from '@lockkeys/testing';
import { batchWithCommandAtLock, closedRuns, drillStack, expectEveryKeyAddedOnce, keysFor, report } from './support';

/** Drill 2: the Temporal dev server dies (SIGKILL) mid-batch and comes back on the same SQLite file. */
const drill = drillStack('temporal-restart');

test('Temporal killed mid-batch and restarted: worker and gateway reconnect on their own, every run completes', async () => {
  const startedAt = Date.now();
  // Temporal dies while a command is at the lock, so its completion cannot be reported.
  const { runs } = await batchWithCommandAtLock(drill, 'temporal', 21, 22);

  const { worker, gateway } = drill.services;
  const exits: string[] = [];
  void worker!.exited.then((code) => exits.push(`worker exited ${code}`));
  void gateway!.exited.then((code) => exits.push(`gateway exited ${code}`));

  await drill.services.temporal!.stop('SIGKILL');
  const downAt = Date.now();
  // While Temporal is down the gateway says so and starts nothing (the key below must never reach the lock).
  const refused = await drill.gateway.bulkAddKeys(21, keysFor('temporal-down', 21, 1, 50));
  expect(refused).toMatchObject({ status: 503, body: { error: 'Service Unavailable', code: 503 } });
  expect(await drill.gateway.readyz()).toBe(503);
  expect((await drill.gateway.status(runs[0]!.lockId, runs[0]!.instanceId)).status).toBe(503);
  await drill.simulator.setFaults({ latencyMs: 0 });
  // Longer than the activity's start-to-close timeout (6-7 s): the in-flight attempt times out at the restart.
  await sleep(Math.max(0, 10_000 - (Date.now() - downAt)));

  await drill.start('temporal');
  const outageMs = Date.now() - downAt;
  await eventually(
    async () => ((await drill.gateway.readyz()) === 200 ? true : undefined),
    30_000,
    'gateway ready again',
  );

  const bodies = await closedRuns(drill, runs);
  const figures = await expectEveryKeyAddedOnce(drill, runs, bodies);
  // The same worker and gateway processes carried on: nobody restarted them.
  expect(exits).toEqual([]);
  report('2 Temporal kill -9', startedAt, figures, `Temporal down ${(outageMs / 1000).toFixed(1)} s`);
});
