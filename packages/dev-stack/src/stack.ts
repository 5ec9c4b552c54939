import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { answers200, startService, type RunningService, type ServiceSpec } from './service';
import { ensureTemporalCli, temporalServing } from './temporal-cli';

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
}

export const DEFAULT_PORTS: StackPorts = {
  temporal: 7233,
  temporalUi: 8233,
  simulator: 3100,
  gateway: 3000,
  workerHealth: 9465,
  workerMetrics: 9464,
};

export type ServiceName = 'temporal' | 'lock-simulator' | 'worker' | 'gateway';
/** Start order; stop goes the other way. */
export const SERVICE_ORDER: readonly ServiceName[] = ['temporal', 'lock-simulator', 'worker', 'gateway'];

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
}

/** A running local stack. */
export interface Stack {
  readonly temporalAddress: string;
  readonly webUiUrl: string;
  readonly simulatorUrl: string;
  readonly gatewayUrl: string;
  readonly services: Partial<Record<ServiceName, RunningService>>;
  /** Starts one service again (after a test stopped or killed it). */
  start(name: ServiceName): Promise<RunningService>;
  /** Stops every service we started, gateway first, Temporal last. */
  stop(): Promise<void>;
}

const defaultPrint = (name: string, line: string) => process.stdout.write(`[${name}] ${line}\n`);

/** Starts Temporal dev server, lock simulator, worker and gateway, each ready before the next one starts. */
export async function startStack(options: StackOptions): Promise<Stack> {
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
        '--db-filename',
        join(options.dataDir, 'temporal.sqlite'),
        '--search-attribute',
        'LockId=Int',
        '--log-level',
        'warn',
        ...(options.temporalArgs ?? []),
      ],
      env: process.env,
      ready: async () => temporalServing(temporalCli, temporalAddress),
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
    worker: {
      name: 'worker',
      command: node,
      args: [app('apps/worker/dist/main.js')],
      env: {
        ...appEnv,
        WORKER_HEALTH_PORT: String(ports.workerHealth),
        WORKER_METRICS_PORT: String(ports.workerMetrics),
      },
      ready: () => answers200(`http://127.0.0.1:${ports.workerHealth}/readyz`),
      stopTimeoutMs: 40_000,
    },
    gateway: {
      name: 'gateway',
      command: node,
      args: [app('apps/gateway/dist/main.js')],
      env: { ...appEnv, PORT: String(ports.gateway) },
      ready: () => answers200(`${gatewayUrl}/readyz`),
    },
  };

  const services: Partial<Record<ServiceName, RunningService>> = {};
  const stack: Stack = {
    temporalAddress,
    webUiUrl: `http://127.0.0.1:${ports.temporalUi}`,
    simulatorUrl,
    gatewayUrl,
    services,
    async start(name) {
      const service = await startService(specs[name], print);
      services[name] = service;
      return service;
    },
    async stop() {
      for (const name of [...SERVICE_ORDER].reverse()) {
        await services[name]?.stop();
      }
    },
  };
  try {
    for (const name of SERVICE_ORDER) await stack.start(name);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}
