import { listens } from '@lockkeys/testing';
import { drillStack, engineOutageDrill, report } from './support';

/** Drill 7: on the postgres engine, the history service dies (SIGKILL) mid-batch; the engine's restart policy brings it back. */
const drill = drillStack('pg-history-kill', {}, { engine: 'postgres' });

test('history killed mid-batch on the postgres engine: restarted by the engine, every run completes, every key once', async () => {
  const startedAt = Date.now();
  // History dies while a command is at the lock: its answer cannot be recorded until history is back.
  const { outage, figures, summary } = await engineOutageDrill(drill, {
    name: 'pg-history',
    locks: [71, 72, 73],
    service: 'temporal-history',
    signal: 'SIGKILL',
    serves: () => listens(drill.enginePorts!.history),
  });
  expect(outage.newPid).not.toBe(outage.pid);
  report(
    '7 postgres engine: history kill -9',
    startedAt,
    figures,
    `history gone ${(outage.goneMs / 1000).toFixed(1)} s (until its gRPC port listened again), ${summary}`,
  );
});
