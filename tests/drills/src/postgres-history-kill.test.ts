import {
  batchWithCommandAtLock,
  closedRuns,
  drillStack,
  expectEveryKeyAddedOnce,
  expectNothingStarted,
  firstCommandAfter,
  keysFor,
  listens,
  report,
  signalEngineProcess,
  startRunDuringOutage,
} from './support';

/** Drill 7: on the postgres engine, the history service dies (SIGKILL) mid-batch; the engine's restart policy brings it back. */
const drill = drillStack('pg-history-kill', {}, { engine: 'postgres' });

test('history killed mid-batch on the postgres engine: restarted by the engine, every run completes, every key once', async () => {
  const startedAt = Date.now();
  // History dies while a command is at the lock: its answer cannot be recorded until history is back.
  const { runs } = await batchWithCommandAtLock(drill, 'pg-history', 71, 72);
  const { worker, 'worker-2': worker2, gateway } = drill.services;
  const exits: string[] = [];
  for (const service of [worker!, worker2!, gateway!])
    void service.exited.then((code) => exits.push(`${service.name} exited ${code}`));

  // A client posts while history is down (the signal goes out first, synchronously).
  const [outage, during] = await Promise.all([
    signalEngineProcess(drill, 'temporal-history', 'SIGKILL', () => listens(drill.enginePorts!.history)),
    startRunDuringOutage(drill, 73, keysFor('pg-history-down', 73, 2)),
  ]);
  await drill.simulator.setFaults({ latencyMs: 0 });
  expect(outage.newPid).not.toBe(outage.pid);
  // Accepted, it is a run like the others (refused, it must have started nothing: checked below).
  if (during.run) runs.push(during.run);

  const bodies = await closedRuns(drill, runs);
  const figures = await expectEveryKeyAddedOnce(drill, runs, bodies);
  if (!during.run) await expectNothingStarted(drill, 73);
  const resumedMs = await firstCommandAfter(drill, [71, 72], outage.at);
  // Workers and gateway rode it out: nobody restarted them, and the gateway serves again.
  expect(exits).toEqual([]);
  expect(await drill.gateway.readyz()).toBe(200);
  const restarts = Object.values(drill.engine!.services)
    .filter((service) => service.restarts > 0)
    .map((service) => `${service.name} ×${service.restarts}`);
  report(
    '7 postgres engine: history kill -9',
    startedAt,
    figures,
    `history gone ${(outage.goneMs / 1000).toFixed(1)} s (until its gRPC port listened again), next lock command ` +
      `${((resumedMs ?? NaN) / 1000).toFixed(1)} s after the kill; a POST meanwhile: ${during.status} after ` +
      `${during.tookMs} ms; engine restarts: ${restarts.join(', ')}`,
  );
});
