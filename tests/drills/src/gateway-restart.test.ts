import { DrillStack, expectEveryKeyAddedOnce, keysFor, report, startBatch } from './support';

/** Drill 3: the gateway dies mid-batch (SIGKILL) and comes back; runs do not depend on it. */
let drill: DrillStack;

beforeAll(async () => {
  drill = await DrillStack.start('gateway-restart');
});

afterAll(async () => {
  await drill?.stop();
});

test('a gateway restart mid-batch leaves the runs unaffected; status is served again, an idempotent retry finds its run', async () => {
  const startedAt = Date.now();
  const runs = await startBatch(drill, 'gateway', 31, 32);
  // A client that will retry this request after the restart, as it would after a lost answer.
  const retried = { keys: keysFor('gateway', 31, 2, 7), headers: { 'idempotency-key': 'drill-3-retry' } };
  runs.push(await drill.startRun(31, retried.keys, retried.headers));
  await drill.commandsReached([31, 32], 3);

  await drill.stack.services.gateway!.stop('SIGKILL');
  const commandsWhenDown = (await drill.journal(31)).length + (await drill.journal(32)).length;
  // The runs go on without a gateway: the locks keep receiving commands.
  await drill.commandsReached([31, 32], commandsWhenDown + 2);
  await drill.stack.start('gateway');

  // Status of a run still in flight is served at once, from the workflow's progress.
  const midway = await drill.runStatus(runs[0]!);
  expect(midway.status).toBe(200);
  expect(midway.body.summary.added).toBeGreaterThan(0);
  // The same request again: the run it started before the restart, not a second one (no in-memory table).
  const again = await drill.postKeys(31, retried.keys, retried.headers);
  expect({
    status: again.status,
    instanceId: again.body.instanceId,
    replayed: again.headers.get('idempotent-replayed'),
  }).toEqual({
    status: 202,
    instanceId: runs[3]!.instanceId,
    replayed: 'true',
  });
  // A new request after the restart queues behind the runs on the same lock.
  runs.push(await drill.startRun(32, keysFor('gateway', 32, 2, 7)));

  const bodies = await drill.closedRuns(runs);
  const figures = await expectEveryKeyAddedOnce(drill, runs, bodies);
  report('3 gateway kill -9', startedAt, figures);
});
