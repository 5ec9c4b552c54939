import { SEARCH_ATTRIBUTES } from '@lockkeys/contracts';

/**
 * Server settings the Temporal CLI's dev server runs with, everywhere it runs (`npm run dev`, every test suite):
 * eager activity dispatch, updates and update-with-start (every POST is one, at its lock's workflow), visibility's rate. The PostgreSQL
 * engine sets the same keys in temporal/dynamicconfig/development-sql.yaml; tests/deploy checks they agree.
 */
export const DEV_SERVER_DYNAMIC_CONFIG = {
  'system.enableActivityEagerExecution': true,
  'frontend.enableUpdateWorkflowExecution': true,
  'frontend.enableExecuteMultiOperation': true,
  // Listings are visibility reads (a page, one more to know there is a next, a status filter reads the lock's open
  // runs): at the server's own default (10 per second per frontend; the dev server's 100) a few clients listing at once
  // are throttled into 503s.
  'frontend.namespaceRPS.visibility': 1000,
} as const;

/**
 * SQLite in WAL mode with normal sync: commits survive a crash of the dev server's process (what a dev stack needs),
 * not necessarily of the machine; about twice the throughput of the default rollback journal here.
 */
export const DEV_SERVER_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'] as const;

/** `temporal server start-dev` arguments for lockkeys: search attributes, dynamic config, and for a file DB its pragmas. */
export function devServerArgs(options: { sqliteFile?: string } = {}): string[] {
  return [
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
    ...Object.entries(DEV_SERVER_DYNAMIC_CONFIG).flatMap(([key, value]) => [
      '--dynamic-config-value',
      `${key}=${JSON.stringify(value)}`,
    ]),
    ...(options.sqliteFile === undefined
      ? []
      : ['--db-filename', options.sqliteFile, ...DEV_SERVER_SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p])]),
  ];
}
