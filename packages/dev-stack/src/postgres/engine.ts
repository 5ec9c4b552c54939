import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { listens } from '../ports';
import { answers200, startService, type RunningService, type ServiceSpec } from '../service';
import { ensureTemporalCli } from '../temporal-cli';
import { ensurePostgresBinaries, ensureTemporalServerBinaries } from './binaries';
import {
  claimCluster,
  clusterLocation,
  initCluster,
  postgresRunAs,
  postgresServiceSpec,
  prepareClusterDir,
  reachableBy,
} from './cluster';
import { assertEnginePortsFree, type PostgresEnginePorts } from './ports';
import {
  ENGINE_NAMESPACE,
  NAMESPACE_SCRIPT,
  POSTGRES_USER,
  SCHEMA_SCRIPT,
  TEMPORAL_CONFIG_ROOT,
  TEMPORAL_SERVICES,
  serverArgs,
  serverEnv,
  uiArgs,
  uiEnv,
  type ServerLogLevel,
  type TemporalServiceName,
} from './server-config';
import { inheritedEnv } from '../config';

export type EngineServiceName = 'postgres' | `temporal-${TemporalServiceName}` | 'temporal-ui';
/** Start order; stop goes the other way, PostgreSQL last. */
export const ENGINE_SERVICE_ORDER: readonly EngineServiceName[] = [
  'postgres',
  ...TEMPORAL_SERVICES.map((service) => `temporal-${service}` as const),
  'temporal-ui',
];

export interface PostgresEngineOptions {
  /** The cluster goes to `<dataDir>/postgres` (or a fallback the PostgreSQL user can reach; logged). */
  dataDir: string;
  ports: PostgresEnginePorts;
  /** Where service output goes; default: prefixed lines on stdout. Our own notices come as `lockkeys`. */
  print?: (name: string, line: string) => void;
  /** Log level of the four server processes (default warn, like the dev server in `npm run dev`). */
  logLevel?: ServerLogLevel;
  /** Where binaries are looked up (TEMPORAL_SERVER_BIN, POSTGRES_BIN_DIR, XDG_CACHE_HOME, PATH…); default the inherited environment. */
  env?: NodeJS.ProcessEnv;
  /** Aborting it (Ctrl-C during the start) stops what already runs, PostgreSQL last, and rejects. */
  signal?: AbortSignal;
}

/** The production engine, running: PostgreSQL, four Temporal server processes, the Web UI. */
export interface PostgresEngine {
  /** The frontend, `127.0.0.1:<port>`. */
  readonly temporalAddress: string;
  readonly webUiUrl: string;
  /** The cluster's folder: `data/` is PGDATA. */
  readonly postgresDir: string;
  /** For psql and friends: `postgresql://temporal@127.0.0.1:<port>/temporal` (trust on loopback, no password). */
  readonly postgresUrl: string;
  readonly services: Readonly<Record<EngineServiceName, RunningService>>;
  /** Stops every process by its pid, the Web UI first, PostgreSQL last. */
  stop(): Promise<void>;
}

const defaultPrint = (name: string, line: string) => process.stdout.write(`[${name}] ${line}\n`);

/** Runs a command to its end, handing each output line to `onLine`; never blocks the event loop. */
function run(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; onLine?: (line: string) => void; signal?: AbortSignal },
): Promise<{ code: number | null; lines: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
    });
    const lines: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        options.onLine?.(line);
      });
    }
    child.once('error', (error) => resolve({ code: null, lines: [...lines, error.message] }));
    child.once('close', (code) => resolve({ code, lines }));
  });
}

/**
 * Starts the production engine for `npm run dev -- --engine=postgres`: a private PostgreSQL cluster (created once),
 * the schemas (created or migrated), the history, matching, frontend and worker services as four processes, namespace
 * `default` with its search attributes, and the standalone Web UI. Every process restarts if it dies
 * (`restart: unless-stopped`). A taken port fails before anything starts; a failed start stops what it started.
 */
export async function startPostgresEngine(options: PostgresEngineOptions): Promise<PostgresEngine> {
  const { ports } = options;
  const env = options.env ?? inheritedEnv();
  const print = options.print ?? defaultPrint;
  const log = (line: string) => print('lockkeys', line);
  await assertEnginePortsFree(ports);

  const binaries = ensureTemporalServerBinaries(env);
  const temporalCli = ensureTemporalCli(env);
  const postgresBinaries = ensurePostgresBinaries(env);
  const runAs = postgresRunAs();
  mkdirSync(options.dataDir, { recursive: true });
  const location = clusterLocation(options.dataDir, (dir) => reachableBy(dir, runAs));
  if (location.fallbackReason) log(`PostgreSQL cluster in ${location.dir}: ${location.fallbackReason}`);
  prepareClusterDir(location.dir, runAs);
  const release = claimCluster(location.dir, postgresBinaries, runAs, log);

  const temporalAddress = `127.0.0.1:${ports.frontend}`;
  const services: Partial<Record<EngineServiceName, RunningService>> = {};
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      for (const name of [...ENGINE_SERVICE_ORDER].reverse()) await services[name]?.stop();
      release();
    })();
    return stopping;
  };

  const temporalSpec = (service: TemporalServiceName): ServiceSpec => ({
    name: `temporal-${service}`,
    command: binaries.server,
    args: serverArgs(service),
    env: serverEnv(service, ports, { logLevel: options.logLevel ?? 'warn', env }),
    cwd: TEMPORAL_CONFIG_ROOT,
    ready:
      service === 'frontend'
        ? async () => {
            const health = await run(temporalCli, ['operator', 'cluster', 'health', '--address', temporalAddress], {
              env,
            });
            return health.lines.some((line) => line.includes('SERVING'));
          }
        : // The internal worker serves no gRPC; it is up once its membership (ringpop) port listens.
          () => listens(service === 'worker' ? ports.workerMembership : ports[service]),
    readyTimeoutMs: 90_000,
    stopTimeoutMs: 20_000,
    restart: 'unless-stopped',
  });

  const { signal } = options;
  const step = async <T>(name: string, start: () => Promise<T>): Promise<T> => {
    if (signal?.aborted) throw new Error(`${name}: start aborted`);
    return start();
  };
  try {
    const started = Date.now();
    if (initCluster(location.dir, postgresBinaries, runAs)) {
      log(`created a PostgreSQL ${postgresBinaries.major} cluster in ${location.dir} (${Date.now() - started} ms)`);
    }
    services.postgres = await startService(
      postgresServiceSpec(location.dir, postgresBinaries, runAs, ports.postgres),
      print,
      { signal },
    );

    const schemaStarted = Date.now();
    const schema = await step('temporal-schema', () =>
      run('sh', [join(TEMPORAL_CONFIG_ROOT, SCHEMA_SCRIPT)], {
        env: {
          PATH: env.PATH,
          HOME: env.HOME,
          SQL_HOST: '127.0.0.1',
          SQL_PORT: String(ports.postgres),
          SQL_USER: POSTGRES_USER,
          TEMPORAL_SQL_TOOL: binaries.sqlTool,
        },
        signal,
      }),
    );
    signal?.throwIfAborted();
    if (schema.code !== 0) {
      // The tool logs every statement at DEBUG; its own error is in the other lines.
      const told = schema.lines.filter((line) => !line.includes('DEBUG')).slice(-15);
      throw new Error(`creating or migrating the Temporal schemas failed (exit ${schema.code}):\n${told.join('\n')}`);
    }
    log(`Temporal schemas ready in PostgreSQL on 127.0.0.1:${ports.postgres} (${Date.now() - schemaStarted} ms)`);

    for (const service of TEMPORAL_SERVICES) {
      services[`temporal-${service}`] = await step(`temporal-${service}`, () =>
        startService(temporalSpec(service), print, { signal }),
      );
    }

    const namespace = await step('temporal-namespace', () =>
      run('sh', [join(TEMPORAL_CONFIG_ROOT, NAMESPACE_SCRIPT)], {
        env: {
          PATH: env.PATH,
          HOME: env.HOME,
          TEMPORAL_ADDRESS: temporalAddress,
          TEMPORAL_NAMESPACE: ENGINE_NAMESPACE,
          TEMPORAL_CLI: temporalCli,
          REGISTER_RETRY_SECONDS: '1',
        },
        onLine: (line) => print('temporal-namespace', line),
        signal,
      }),
    );
    signal?.throwIfAborted();
    if (namespace.code !== 0) {
      throw new Error(
        `preparing namespace ${ENGINE_NAMESPACE} failed (exit ${namespace.code}):\n${namespace.lines.slice(-10).join('\n')}`,
      );
    }

    services['temporal-ui'] = await step('temporal-ui', () =>
      startService(
        {
          name: 'temporal-ui',
          command: binaries.uiServer,
          args: uiArgs(),
          env: uiEnv(ports, env),
          cwd: TEMPORAL_CONFIG_ROOT,
          ready: () => answers200(`http://127.0.0.1:${ports.ui}/`),
          restart: 'unless-stopped',
        },
        print,
        { signal },
      ),
    );
    log(`engine up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    temporalAddress,
    webUiUrl: `http://127.0.0.1:${ports.ui}`,
    postgresDir: location.dir,
    postgresUrl: `postgresql://${POSTGRES_USER}@127.0.0.1:${ports.postgres}/temporal`,
    services: services as Record<EngineServiceName, RunningService>,
    stop,
  };
}
