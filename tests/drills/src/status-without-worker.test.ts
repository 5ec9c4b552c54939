import type { RunStatusBody } from '@lockkeys/contracts';
import { mapLimit } from '@lockkeys/testing';
import { closedRuns, drillStack, expectEveryKeyAddedOnce, keysFor, report, startRun, type Run } from './support';

/**
 * Drill 7: 20 locks × 4 keys in flight, the only worker killed with `kill -9`: every run's status, answered from
 * its history while no worker runs, never reports fewer keys added than its lock holds (a key whose command was
 * still in flight may be `adding`, never `pending`), also for runs that have continued as new; once the runs close,
 * what they report is exactly what the locks hold.
 */
const drill = drillStack('status', { KEYS_PER_WORKFLOW_RUN: '2' });
const LOCKS = Array.from({ length: 20 }, (_, i) => 71 + i);

/** What a status body says of the keys the lock holds: each must be `added`, or `adding` if it was in flight. */
function compare(body: RunStatusBody, held: ReadonlySet<string>) {
  const reported = new Map(body.keys.map((key) => [key.keyUuid, key.status]));
  const added = body.keys.filter((key) => key.status === 'added').length;
  const heldButPending = [...held].filter(
    (uuid) => reported.get(uuid) === 'pending' || reported.get(uuid) === undefined,
  );
  const heldButAdding = [...held].filter((uuid) => reported.get(uuid) === 'adding');
  const addedButNotHeld = body.keys.filter((key) => key.status === 'added' && !held.has(key.keyUuid));
  return { added, held: held.size, heldButPending, heldButAdding, addedButNotHeld };
}

test('status without a worker tells no lie: every key a lock holds is added (or adding while in flight)', async () => {
  const startedAt = Date.now();
  const runs: Run[] = await mapLimit(LOCKS, 5, (lockId) => startRun(drill, lockId, keysFor('status', lockId, 4)));
  // Mid-batch: about half of the 80 commands are at the locks, and every run has continued as new at least once
  // or is about to (2 keys per workflow run).
  await drill.simulator.waitForCommands(LOCKS, 40, 60_000);
  const worker = drill.services.worker!;
  await worker.stop('SIGKILL');
  await expect(worker.exited).resolves.toBeNull();

  const askedAt = Date.now();
  const orphaned = await mapLimit(runs, 4, async (run) => ({
    run,
    body: await drill.gateway.run(run.lockId, run.instanceId),
  }));
  const askMs = Date.now() - askedAt;
  const journals = new Map(
    await Promise.all(LOCKS.map(async (lockId) => [lockId, await drill.simulator.journal(lockId)] as const)),
  );
  const held = (lockId: number) =>
    new Set(
      journals
        .get(lockId)!
        .filter((c) => c.status === 201 || c.status === 200)
        .map((c) => c.keyUuid),
    );
  const whileDown = orphaned.map(({ run, body }) => ({ lockId: run.lockId, ...compare(body, held(run.lockId)) }));
  expect(whileDown.filter((r) => r.heldButPending.length > 0 || r.addedButNotHeld.length > 0)).toEqual([]);
  // At most the one command in flight per run is not yet known as added.
  expect(whileDown.filter((r) => r.heldButAdding.length > 1)).toEqual([]);
  const exact = whileDown.filter((r) => r.added === r.held).length;
  const continued = orphaned.filter(({ body }) => body.summary.added >= 2).length;

  await drill.start('worker');
  const bodies = await closedRuns(drill, runs);
  const figures = await expectEveryKeyAddedOnce(drill, runs, bodies);
  for (const [i, run] of runs.entries()) {
    const journal = await drill.simulator.journal(run.lockId);
    expect(compare(bodies[i]!, new Set(journal.map((c) => c.keyUuid)))).toMatchObject({ added: 4, held: 4 });
  }
  report(
    '7 status without a worker',
    startedAt,
    figures,
    `while down: ${exact}/${runs.length} runs reported exactly what their lock held, the rest one key adding; ` +
      `${continued} had continued as new; 20 status reads took ${askMs} ms`,
  );
}, 240_000);
