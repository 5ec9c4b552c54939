import { sleep } from '@lockkeys/testing';
import { closedRuns, drillStack, expectEveryKeyAddedOnce, report, startBatch } from './support';

/** Drill 5: the lock applies a command but its answer never comes (reply dropped; the simulator killed). */
// Set by env, not PUT /faults, so that the restarted simulator keeps dropping replies.
const drill = drillStack('dropped-reply', { LOCK_SIM_DROP_RATE: '0.3', LOCK_SIM_SEED: 'drill-5' });

test('an applied command whose reply is lost is retried and answered 200: one key, never two', async () => {
  const startedAt = Date.now();
  const runs = await startBatch(drill, 'drop', 51, 52);
  await drill.simulator.waitForCommands([51, 52], 4);

  // The simulator dies outright mid-batch; its SQLite file keeps what it applied.
  await drill.services['lock-simulator']!.stop('SIGKILL');
  await sleep(2_000);
  await drill.start('lock-simulator');

  const bodies = await closedRuns(drill, runs);
  const figures = await expectEveryKeyAddedOnce(drill, runs, bodies);
  // Every key whose 201 was dropped got a 200 on a later attempt: the idempotent path, not a second key.
  const journals = [...(await drill.simulator.journal(51)), ...(await drill.simulator.journal(52))];
  const droppedCreates = journals.filter((c) => c.dropped && c.status === 201);
  expect(droppedCreates.length).toBeGreaterThan(0);
  const replayed = droppedCreates.filter((d) =>
    journals.some((c) => c.keyUuid === d.keyUuid && c.at > d.at && c.status === 200),
  );
  expect(replayed).toEqual(droppedCreates);
  report('5 dropped replies + simulator kill -9', startedAt, figures);
});
