import { expectStatus } from '@lockkeys/testing';
import { batchWithCommandAtLock, closedRuns, drillStack, expectEveryKeyAddedOnce, report } from './support';

/** Drill 1: `kill -9` of the only worker while a command is at the lock; a new worker finishes the batch. */
const drill = drillStack('worker-kill');

test('a worker killed mid-batch loses no key and doubles none; the retry of its in-flight command keeps the gap', async () => {
  const startedAt = Date.now();
  const { runs, attempt } = await batchWithCommandAtLock(drill, 'kill', 11, 12);
  const atKill = await drill.gateway.run(attempt.run.lockId, attempt.run.instanceId);
  const inFlightKey = atKill.keys.find((key) => key.status === 'adding')!.keyUuid;
  const worker = drill.services.worker!;
  await worker.stop('SIGKILL');
  await expect(worker.exited).resolves.toBeNull();
  expect(atKill.summary.pending).toBeGreaterThan(0);

  // With no worker to answer the progress query, status is still served (from the run's input, as documented).
  const askedAt = Date.now();
  const orphaned = await drill.gateway.status(runs[0]!.lockId, runs[0]!.instanceId);
  const orphanedMs = Date.now() - askedAt;
  expect(orphaned).toMatchObject({ status: 200, body: { instanceId: runs[0]!.instanceId, closedAt: null } });
  expect(orphanedMs).toBeLessThan(10_000);

  await drill.simulator.setFaults({ latencyMs: 0 });
  await drill.start('worker');
  const bodies = await closedRuns(drill, runs);
  const figures = await expectEveryKeyAddedOnce(drill, runs, bodies);

  // The killed worker's command took effect at the lock; its retry came only after the activity's start-to-close
  // timeout (at least LOCK_BACKEND_TIMEOUT_MS + 1 s = 6 s) and was answered 200, not a second key.
  const commands = (await drill.simulator.journal(attempt.run.lockId)).filter((c) => c.keyUuid === inFlightKey);
  expect(commands.map((c) => c.status)).toEqual([201, 200]);
  const retryAfterMs = commands[1]!.at - commands[0]!.at;
  expect(retryAfterMs).toBeGreaterThanOrEqual(6_000);
  const reported = bodies[runs.indexOf(attempt.run)]!.keys.find((key) => key.keyUuid === inFlightKey);
  expect(reported?.attempts).toBe(2);
  report(
    '1 worker kill -9',
    startedAt,
    figures,
    `in-flight command retried after ${retryAfterMs} ms; status with no worker took ${orphanedMs} ms ` +
      `(${expectStatus(orphaned, 200).status}, ${expectStatus(orphaned, 200).summary.added} added)`,
  );
});
