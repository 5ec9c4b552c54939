import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isTemporalClientVariable, loadTemporalConnection, type TemporalConnection } from '@lockkeys/config';
import { inheritedEnv } from './config';
import { type StackPorts } from './ports';
import { DEFAULT_ENGINE_PORTS, startPostgresEngine, type PostgresEngine, type PostgresEnginePorts } from './postgres';
import { devServerArgs } from './dev-server';
import { answers200, startService, type RunningService, type ServiceSpec } from './service';
import { ensureTemporalCli, temporalServing } from './temporal-cli';

export type ServiceName = 'temporal' | 'lock-simulator' | 'worker' | 'worker-2' | 'gateway';
/** Start order; stop goes the other way. `worker-2` runs with the postgres engine only. */
export const SERVICE_ORDER: readonly ServiceName[] = ['temporal', 'lock-simulator', 'worker', 'worker-2', 'gateway'];

/** Which Temporal runs underneath: the dev server on SQLite, or the production engine on PostgreSQL. */
export type StackEngine = 'dev' | 'postgres';

export interface StackOptions {
  /** Repository root (holds apps/ and packages/, built). */
  rootDir: string;
  /** Where the Temporal and simulator SQLite files live (`.data/` for `npm run dev`). */
  dataDir: string;
  ports: StackPorts;
  /** Extra environment for every app (e.g. `KEY_COMMAND_GAP_MS` in a test). */
  env?: NodeJS.ProcessEnv;
  /** Extra arguments to `temporal server start-dev` (e.g. dynamic config in a test). */
  temporalArgs?: string[];
  /** Where service output goes; default: prefixed lines on stdout. */
  print?: (name: string, line: string) => void;
  /**
   * `'dev'` (default): `temporal server start-dev`, one worker. `'postgres'`: the production engine (PostgreSQL, four
   * Temporal server processes, the standalone Web UI on `ports.temporalUi`) and two workers.
   */
  engine?: StackEngine;
  /** The postgres engine's other ports (frontend and Web UI come from `ports`); tests pass `freeEnginePorts()`. */
  enginePorts?: Partial<PostgresEnginePorts>;
  /** Aborting it during the start stops what already runs (Ctrl-C before the stack is up). */
  signal?: AbortSignal;
}

/** A running local stack. */
export interface Stack {
  readonly temporalAddress: string;
  /**
   * How to reach the stack's Temporal dev server (`@lockkeys/config`), from the same profile file the apps use:
   * pass `connectionOptions` to `Connection.connect` and `namespace` to the `Client`.
   */
  readonly temporal: TemporalConnection;
  /** The Temporal CLI profile file of the stack: `temporal --config-file <it> workflow list`. */
  readonly temporalConfigFile: string;
  /** The environment every app of the stack starts with (an extra worker in a test starts with it too). */
  readonly appEnv: Readonly<NodeJS.ProcessEnv>;
  readonly webUiUrl: string;
  readonly simulatorUrl: string;
  readonly gatewayUrl: string;
  readonly services: Partial<Record<ServiceName, RunningService>>;
  /** The postgres engine when `engine: 'postgres'` (its processes restart by themselves; `services.temporal` is unset). */
  readonly engine?: PostgresEngine;
  /** Starts one service again (after a test stopped or killed it). */
  start(name: ServiceName): Promise<RunningService>;
  /** Stops every service we started, gateway first, Temporal last. */
  stop(): Promise<void>;
}

const defaultPrint = (name: string, line: string) => process.stdout.write(`[${name}] ${line}\n`);

/** Starts Temporal dev server, lock simulator, worker and gateway, each ready before the next one starts. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const engine = options.engine ?? 'dev';
  const temporalCli = ensureTemporalCli();
  mkdirSync(options.dataDir, { recursive: true });
  const { ports } = options;
  const temporalAddress = `127.0.0.1:${ports.temporal}`;
  const simulatorUrl = `http://127.0.0.1:${ports.simulator}`;
  const gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
  const print = options.print ?? defaultPrint;
  const inherited = inheritedEnv();
  const temporalConfigFile = writeTemporalProfile(options.dataDir, temporalAddress);
  const appEnv = stackAppEnv(inherited, { temporalConfigFile, simulatorUrl, extra: options.env });
  // The same settings the apps will read, checked here: a bad override stops the stack before anything starts.
  const temporal = loadTemporalConnection(appEnv);
  const node = process.execPath;
  const app = (path: string) => join(options.rootDir, path);
  const workerSpec = (name: ServiceName, health: number, metrics: number) =>
    workerServiceSpec(options.rootDir, { name, env: appEnv, health, metrics });

  const specs: Record<ServiceName, ServiceSpec> = {
    temporal: {
      name: 'temporal',
      command: temporalCli,
      args: [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(ports.temporal),
        '--ui-port',
        String(ports.temporalUi),
        ...devServerArgs({ sqliteFile: join(options.dataDir, 'temporal.sqlite') }),
        '--log-level',
        'warn',
        ...(options.temporalArgs ?? []),
      ],
      env: inherited,
      ready: async () => temporalServing(temporalCli, temporal.address, appEnv),
      readyTimeoutMs: 120_000,
    },
    'lock-simulator': {
      name: 'lock-simulator',
      command: node,
      args: [app('apps/lock-simulator/dist/main.js')],
      env: {
        ...appEnv,
        LOCK_SIM_PORT: String(ports.simulator),
        LOCK_SIM_DB: join(options.dataDir, 'lock-simulator.sqlite'),
        ...options.env,
      },
      ready: () => answers200(`${simulatorUrl}/healthz`),
    },
    worker: workerSpec('worker', ports.workerHealth, ports.workerMetrics),
    'worker-2': workerSpec('worker-2', ports.worker2Health, ports.worker2Metrics),
    gateway: {
      name: 'gateway',
      command: node,
      args: [app('apps/gateway/dist/main.js')],
      env: { ...appEnv, PORT: String(ports.gateway) },
      ready: () => answers200(`${gatewayUrl}/readyz`),
    },
  };

  const order = SERVICE_ORDER.filter((name) => (engine === 'postgres' ? name !== 'temporal' : name !== 'worker-2'));
  const services: Partial<Record<ServiceName, RunningService>> = {};
  let postgresEngine: PostgresEngine | undefined;
  const stack: Stack = {
    temporalAddress,
    temporal,
    temporalConfigFile,
    appEnv,
    webUiUrl: `http://127.0.0.1:${ports.temporalUi}`,
    simulatorUrl,
    gatewayUrl,
    services,
    get engine() {
      return postgresEngine;
    },
    async start(name) {
      if (!order.includes(name)) throw new Error(`${name} does not run with engine ${engine}`);
      const service = await startService(specs[name], print, { signal: options.signal });
      services[name] = service;
      return service;
    },
    async stop() {
      for (const name of [...order].reverse()) {
        await services[name]?.stop();
      }
      await postgresEngine?.stop();
    },
  };
  try {
    if (engine === 'postgres') {
      postgresEngine = await startPostgresEngine({
        dataDir: options.dataDir,
        ports: { ...DEFAULT_ENGINE_PORTS, ...options.enginePorts, frontend: ports.temporal, ui: ports.temporalUi },
        print,
        signal: options.signal,
      });
    }
    for (const name of order) await stack.start(name);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}

/**
 * Writes the Temporal CLI profile of the stack's dev server into `dataDir` and returns its path. The apps
 * get it as `TEMPORAL_CONFIG_FILE`, so a profile, API key or TLS setting meant for another cluster (the
 * shell's `TEMPORAL_*`, the user's own `~/.config/temporalio/temporal.toml`) never reaches the local server.
 */
export function writeTemporalProfile(dataDir: string, address: string): string {
  const path = join(dataDir, 'temporal.toml');
  writeFileSync(
    path,
    [
      '# Written by `npm run dev`: its Temporal dev server. Try `temporal --config-file <this file> workflow list`.',
      '[profile.default]',
      `address = "${address}"`,
      'namespace = "default"',
      '',
    ].join('\n'),
  );
  return path;
}

/**
 * The environment of the stack's apps: `inherited` (every variable passes through) without the ones that
 * change how a Temporal client connects, pointed at the stack's profile file and simulator, then `extra`.
 */
export function stackAppEnv(
  inherited: NodeJS.ProcessEnv,
  stack: { temporalConfigFile: string; simulatorUrl: string; extra?: NodeJS.ProcessEnv | undefined },
): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(inherited).filter(([name]) => !isTemporalClientVariable(name))),
    NODE_ENV: inherited.NODE_ENV ?? 'development',
    TEMPORAL_CONFIG_FILE: stack.temporalConfigFile,
    LOCK_BACKEND_URL: stack.simulatorUrl,
    ...stack.extra,
  };
}

/**
 * A lockkeys worker process: `env` (a stack's {@link Stack.appEnv}, plus anything of its own) with its health and
 * metrics ports, ready once `/readyz` answers, 40 s to finish a command at a lock when stopped.
 */
export function workerServiceSpec(
  rootDir: string,
  worker: { name: string; env: NodeJS.ProcessEnv; health: number; metrics: number },
): ServiceSpec {
  return {
    name: worker.name,
    command: process.execPath,
    args: [join(rootDir, 'apps/worker/dist/main.js')],
    env: { ...worker.env, WORKER_HEALTH_PORT: String(worker.health), WORKER_METRICS_PORT: String(worker.metrics) },
    ready: () => answers200(`http://127.0.0.1:${worker.health}/readyz`),
    stopTimeoutMs: 40_000,
  };
}
