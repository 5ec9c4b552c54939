import { type Env, parseEnv, port } from '@lockkeys/config';
import { freePort, portIsFree } from '../ports';

/** Every port of the postgres engine, all on 127.0.0.1. */
export interface PostgresEnginePorts {
  postgres: number;
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  frontendMetrics: number;
  history: number;
  historyMembership: number;
  historyMetrics: number;
  matching: number;
  matchingMembership: number;
  matchingMetrics: number;
  worker: number;
  workerMembership: number;
  workerMetrics: number;
  /** The standalone Web UI. */
  ui: number;
}

interface PortSetting {
  /** The environment variable `npm run dev` reads it from. */
  env: string;
  fallback: number;
  /** How a message names it. */
  label: string;
}

/**
 * Defaults as in Temporal's development-postgres12.yaml (gRPC 7233/7234/7235, membership 6933/6934/6935/6939,
 * frontend HTTP 7243) and SPEC "Ports and processes"; metrics one per process from Temporal's usual 8000.
 */
export const ENGINE_PORT_SETTINGS: Readonly<Record<keyof PostgresEnginePorts, PortSetting>> = {
  postgres: { env: 'LOCKKEYS_PG_PORT', fallback: 7432, label: 'PostgreSQL port' },
  frontend: { env: 'TEMPORAL_PORT', fallback: 7233, label: 'Temporal frontend gRPC port' },
  frontendHttp: { env: 'TEMPORAL_HTTP_PORT', fallback: 7243, label: 'Temporal frontend HTTP port' },
  frontendMembership: { env: 'TEMPORAL_FRONTEND_MEMBERSHIP_PORT', fallback: 6933, label: 'frontend membership port' },
  frontendMetrics: { env: 'TEMPORAL_FRONTEND_METRICS_PORT', fallback: 8000, label: 'frontend metrics port' },
  history: { env: 'TEMPORAL_HISTORY_PORT', fallback: 7234, label: 'history gRPC port' },
  historyMembership: { env: 'TEMPORAL_HISTORY_MEMBERSHIP_PORT', fallback: 6934, label: 'history membership port' },
  historyMetrics: { env: 'TEMPORAL_HISTORY_METRICS_PORT', fallback: 8001, label: 'history metrics port' },
  matching: { env: 'TEMPORAL_MATCHING_PORT', fallback: 7235, label: 'matching gRPC port' },
  matchingMembership: { env: 'TEMPORAL_MATCHING_MEMBERSHIP_PORT', fallback: 6935, label: 'matching membership port' },
  matchingMetrics: { env: 'TEMPORAL_MATCHING_METRICS_PORT', fallback: 8002, label: 'matching metrics port' },
  worker: { env: 'TEMPORAL_WORKER_PORT', fallback: 7239, label: 'Temporal worker gRPC port' },
  workerMembership: {
    env: 'TEMPORAL_WORKER_MEMBERSHIP_PORT',
    fallback: 6939,
    label: 'Temporal worker membership port',
  },
  workerMetrics: { env: 'TEMPORAL_WORKER_METRICS_PORT', fallback: 8003, label: 'Temporal worker metrics port' },
  ui: { env: 'TEMPORAL_UI_PORT', fallback: 8233, label: 'Temporal Web UI port' },
};

const PORT_KEYS = Object.keys(ENGINE_PORT_SETTINGS) as (keyof PostgresEnginePorts)[];

/** Temporal's PostgreSQL schema keeps membership ports in `cluster_membership.rpc_port`, a SMALLINT. */
export const MAX_MEMBERSHIP_PORT = 32767;
const MEMBERSHIP_KEYS = PORT_KEYS.filter((key) => key.endsWith('Membership'));

export const DEFAULT_ENGINE_PORTS: Readonly<PostgresEnginePorts> = Object.fromEntries(
  PORT_KEYS.map((key) => [key, ENGINE_PORT_SETTINGS[key].fallback]),
) as unknown as PostgresEnginePorts;

/** The engine's variables, each a strict port number (empty = unset, as everywhere in lockkeys). */
const engineEnv = Object.fromEntries(
  PORT_KEYS.map((key) => [
    ENGINE_PORT_SETTINGS[key].env,
    port({ min: 1, default: ENGINE_PORT_SETTINGS[key].fallback }),
  ]),
);

/** The engine's ports from the environment (each variable in ENGINE_PORT_SETTINGS overrides its default). */
export function enginePortsFromEnv(env: Env): PostgresEnginePorts {
  const values = parseEnv(engineEnv, env) as Record<string, number>;
  return Object.fromEntries(
    PORT_KEYS.map((key) => [key, values[ENGINE_PORT_SETTINGS[key].env]]),
  ) as unknown as PostgresEnginePorts;
}

/**
 * Free ports for a whole engine, for tests that run several at once. Membership ports come from below the kernel's
 * ephemeral range (they must fit a SMALLINT, and outside it they cannot collide with `freePort()`'s).
 */
export async function freeEnginePorts(): Promise<PostgresEnginePorts> {
  const taken = new Set<number>();
  const lowPort = async (): Promise<number> => {
    for (;;) {
      const port = 20_000 + Math.floor(Math.random() * (MAX_MEMBERSHIP_PORT - 20_000));
      if (!taken.has(port) && (await portIsFree(port))) return port;
    }
  };
  const ports: Partial<PostgresEnginePorts> = {};
  for (const key of PORT_KEYS) {
    let port = MEMBERSHIP_KEYS.includes(key) ? await lowPort() : await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    ports[key] = port;
  }
  return ports as PostgresEnginePorts;
}

/** Raised before anything starts when a port is taken or given twice; its message is one line. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

/**
 * Throws PortInUseError naming every engine port that something else listens on or that two settings share,
 * with the variables that move them; resolves when all are free.
 */
export async function assertEnginePortsFree(ports: PostgresEnginePorts): Promise<void> {
  const byPort = new Map<number, (keyof PostgresEnginePorts)[]>();
  for (const key of PORT_KEYS) byPort.set(ports[key], [...(byPort.get(ports[key]) ?? []), key]);
  const problems: string[] = [];
  const toMove: string[] = [];
  for (const key of MEMBERSHIP_KEYS.filter((membership) => ports[membership] > MAX_MEMBERSHIP_PORT)) {
    problems.push(
      `${ENGINE_PORT_SETTINGS[key].label} ${ports[key]} is above ${MAX_MEMBERSHIP_PORT}, which Temporal's ` +
        'cluster_membership table cannot hold',
    );
    toMove.push(ENGINE_PORT_SETTINGS[key].env);
  }
  for (const [port, keys] of byPort) {
    if (keys.length > 1) {
      problems.push(`port ${port} is given twice (${keys.map((key) => ENGINE_PORT_SETTINGS[key].label).join(', ')})`);
      toMove.push(...keys.map((key) => ENGINE_PORT_SETTINGS[key].env));
    }
  }
  const busy = await Promise.all([...byPort].map(async ([port, keys]) => ((await portIsFree(port)) ? [] : keys)));
  for (const key of busy.flat()) {
    problems.push(`${ENGINE_PORT_SETTINGS[key].label} ${ports[key]} is already in use`);
    toMove.push(ENGINE_PORT_SETTINGS[key].env);
  }
  if (problems.length === 0) return;
  throw new PortInUseError(
    `${problems.join('; ')} (another stack running? move with ${[...new Set(toMove)].join(', ')})`,
  );
}
