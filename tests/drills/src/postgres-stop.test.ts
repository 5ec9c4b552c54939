import { drillStack, engineOutageDrill, report } from './support';

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
  // SIGINT to the postmaster is `pg_ctl stop -m fast`: sessions are cut, open transactions rolled back, a clean stop.
  const { outage, figures, summary } = await engineOutageDrill(drill, {
    name: 'pg-stop',
    locks: [81, 82, 83],
    service: 'postgres',
    signal: 'SIGINT',
    serves: async (at) => postgresReady.some((t) => t > at),
  });
  report(
    '8 postgres engine: PostgreSQL fast stop + restart',
    startedAt,
    figures,
    `PostgreSQL down ${(outage.goneMs / 1000).toFixed(1)} s (SIGINT until ready again), ${summary}`,
  );
});
