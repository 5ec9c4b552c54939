import {
  batchWithCommandAtLock,
  closedRuns,
  drillStack,
  expectEveryKeyAddedOnce,
  expectNothingStarted,
  firstCommandAfter,
  keysFor,
  report,
  signalEngineProcess,
  startRunDuringOutage,
} from './support';

/** When PostgreSQL said it accepts connections, epoch ms (its own log line, through the stack's output). */
const postgresReady: number[] = [];
/** Drill 8: on the postgres engine, PostgreSQL is stopped fast mid-batch and comes back by the engine's restart policy. */
const drill = drillStack(
  'pg-stop',
  {},
  {
    engine: 'postgres',
    print: (name, line) => {
      if (name === 'postgres' && line.includes('database system is ready to accept connections'))
        postgresReady.push(Date.now());
    },
  },
);

test('PostgreSQL stopped fast mid-batch and restarted: the Temporal services reconnect, every run completes, every key once', async () => {
  const startedAt = Date.now();
  const { runs } = await batchWithCommandAtLock(drill, 'pg-stop', 81, 82);
  const { worker, 'worker-2': worker2, gateway } = drill.services;
  const exits: string[] = [];
  for (const service of [worker!, worker2!, gateway!])
    void service.exited.then((code) => exits.push(`${service.name} exited ${code}`));

  // SIGINT to the postmaster is `pg_ctl stop -m fast`: sessions are cut, open transactions rolled back, a clean stop.
  // A client posts while PostgreSQL is down (the signal goes out first, synchronously).
  const [outage, during] = await Promise.all([
    signalEngineProcess(drill, 'postgres', 'SIGINT', async (at) => postgresReady.some((t) => t > at)),
    startRunDuringOutage(drill, 83, keysFor('pg-stop-down', 83, 2)),
  ]);
  await drill.simulator.setFaults({ latencyMs: 0 });
  // Accepted, it is a run like the others; refused, it is SPEC's 503 (never a 500) and started nothing (below).
  expect([202, 503]).toContain(during.status);
  if (during.run) runs.push(during.run);

  const bodies = await closedRuns(drill, runs);
  const figures = await expectEveryKeyAddedOnce(drill, runs, bodies);
  if (!during.run) await expectNothingStarted(drill, 83);
  const resumedMs = await firstCommandAfter(drill, [81, 82], outage.at);
  expect(exits).toEqual([]);
  expect(await drill.gateway.readyz()).toBe(200);
  const restarts = Object.values(drill.engine!.services)
    .filter((service) => service.restarts > 0)
    .map((service) => `${service.name} ×${service.restarts}`);
  report(
    '8 postgres engine: PostgreSQL fast stop + restart',
    startedAt,
    figures,
    `PostgreSQL down ${(outage.goneMs / 1000).toFixed(1)} s (SIGINT until ready again), next lock command ` +
      `${((resumedMs ?? NaN) / 1000).toFixed(1)} s after the stop; a POST meanwhile: ${during.status} after ` +
      `${during.tookMs} ms; engine restarts: ${restarts.join(', ')}`,
  );
});
