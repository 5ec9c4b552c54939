import { expectStatus } from '@lockkeys/testing';
import { closedRuns, drillStack, expectEveryKeyAddedOnce, keysFor, report, startBatch, startRun } from './support';

/** Drill 3: the gateway dies mid-batch (SIGKILL) and comes back; runs do not depend on it. */
const drill = drillStack('gateway-restart');

test('a gateway restart mid-batch leaves the runs unaffected; status is served again, an idempotent retry finds its run', async () => {
  const startedAt = Date.now();
  const runs = await startBatch(drill, 'gateway', 31, 32);
  // A client that will retry this request after the restart, as it would after a lost answer.
  const retried = { keys: keysFor('gateway', 31, 2, 7), headers: { 'idempotency-key': 'drill-3-retry' } };
  runs.push(await startRun(drill, 31, retried.keys, retried.headers));
  await drill.simulator.waitForCommands([31, 32], 3);

  await drill.services.gateway!.stop('SIGKILL');
  const commandsWhenDown = (await drill.simulator.journal(31)).length + (await drill.simulator.journal(32)).length;
  // The runs go on without a gateway: the locks keep receiving commands.
  await drill.simulator.waitForCommands([31, 32], commandsWhenDown + 2);
  await drill.start('gateway');

  // Status of a run still in flight is served at once, from the workflow's progress.
  const midway = await drill.gateway.run(runs[0]!.lockId, runs[0]!.instanceId);
  expect(midway.summary.added).toBeGreaterThan(0);
  // The same request again: the run it started before the restart, not a second one (no in-memory table).
  const again = await drill.gateway.bulkAddKeys(31, retried.keys, retried.headers);
  expect({
    status: again.status,
    instanceId: expectStatus(again, 202).instanceId,
    replayed: again.headers['idempotent-replayed'],
  }).toEqual({
    status: 202,
    instanceId: runs[3]!.instanceId,
    replayed: 'true',
  });
  // A new request after the restart queues behind the runs on the same lock.
  runs.push(await startRun(drill, 32, keysFor('gateway', 32, 2, 7)));

  const bodies = await closedRuns(drill, runs);
  const figures = await expectEveryKeyAddedOnce(drill, runs, bodies);
  report('3 gateway kill -9', startedAt, figures);
});
