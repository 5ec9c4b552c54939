import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ENGINE_PORTS, startPostgresEngine, type PostgresEngine, type PostgresEnginePorts } from './postgres';
import { answers200, startService, type RunningService, type ServiceSpec } from './service';
import { ensureTemporalCli } from './temporal-cli';

/** Ports of the local stack (SPEC "Ports and processes"). */
export interface StackPorts {
  temporal: number;
  temporalUi: number;
  simulator: number;
  gateway: number;
  /** Worker health endpoint (`/readyz`). */
  workerHealth: number;
  /** Worker Prometheus exporter (`/metrics`). */
  workerMetrics: number;
  /** The second worker of the postgres engine (default 9466 and 9467). */
  worker2Health?: number;
  worker2Metrics?: number;
}

export const DEFAULT_PORTS: StackPorts = { temporal: 7233, temporalUi: 8233, simulator: 3100, gateway: 3000, workerHealth: 9465, workerMetrics: 9464, worker2Health: 9466, worker2Metrics: 9467 };

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
  const appEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: process.env.NODE_ENV ?? 'development',
    TEMPORAL_ADDRESS: temporalAddress,
    LOCK_BACKEND_URL: simulatorUrl,
    ...options.env,
  };
  const node = process.execPath;
  const app = (path: string) => join(options.rootDir, path);
  const workerSpec = (name: ServiceName, health: number, metrics: number): ServiceSpec => ({
    name,
    command: node,
    args: [app('apps/worker/dist/main.js')],
    env: { ...appEnv, WORKER_HEALTH_PORT: String(health), WORKER_METRICS_PORT: String(metrics) },
    ready: () => answers200(`http://127.0.0.1:${health}/readyz`),
    stopTimeoutMs: 40_000,
  });

  const specs: Record<ServiceName, ServiceSpec> = {
    temporal: {
      name: 'temporal',
      command: temporalCli,
      args: [
        'server',
        'start-dev',
        '--ip', '127.0.0.1',
        '--port', String(ports.temporal),
        '--ui-port', String(ports.temporalUi),
        '--db-filename', join(options.dataDir, 'temporal.sqlite'),
        '--search-attribute', 'LockId=Int',
        '--log-level', 'warn',
        ...(options.temporalArgs ?? []),
      ],
      env: process.env,
      ready: async () =>
        spawnSync(temporalCli, ['operator', 'cluster', 'health', '--address', temporalAddress], {
          encoding: 'utf8',
          timeout: 5_000,
        }).stdout?.includes('SERVING') ?? false,
      readyTimeoutMs: 120_000,
    },
    'lock-simulator': {
      name: 'lock-simulator',
      command: node,
      args: [app('apps/lock-simulator/dist/main.js')],
      env: { ...appEnv, LOCK_SIM_PORT: String(ports.simulator), LOCK_SIM_DB: join(options.dataDir, 'lock-simulator.sqlite'), ...options.env },
      ready: () => answers200(`${simulatorUrl}/healthz`),
    },
    worker: workerSpec('worker', ports.workerHealth, ports.workerMetrics),
    'worker-2': workerSpec('worker-2', ports.worker2Health ?? 9466, ports.worker2Metrics ?? 9467),
    gateway: {
      name: 'gateway',
      command: node,
      args: [app('apps/gateway/dist/main.js')],
      env: { ...appEnv, PORT: String(ports.gateway) },
      ready: () => answers200(`${gatewayUrl}/readyz`),
    },
  };

  const order = SERVICE_ORDER.filter((name) =>
    engine === 'postgres' ? name !== 'temporal' : name !== 'worker-2',
  );
  const services: Partial<Record<ServiceName, RunningService>> = {};
  let postgresEngine: PostgresEngine | undefined;
  const stack: Stack = {
    temporalAddress,
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
