import { join, resolve } from 'node:path';
import type { PostgresEnginePorts } from './ports';
import { inheritedEnv } from '../config';

/**
 * The repository's `temporal/` folder: the server config, the Web UI config, the dynamic config and the setup
 * scripts. docker-compose.yml mounts the same folder into its containers (tests/deploy compares the two).
 */
export const TEMPORAL_CONFIG_ROOT = resolve(__dirname, '..', '..', '..', '..', 'temporal');

/** `temporal-server --config server --env lockkeys` loads `temporal/server/lockkeys.yaml` (a Go template). */
export const SERVER_CONFIG = { dir: 'server', env: 'lockkeys' } as const;
/** `temporal-ui-server --config ui --env lockkeys` loads `temporal/ui/lockkeys.yaml`. */
export const UI_CONFIG = { dir: 'ui', env: 'lockkeys' } as const;
/** Dynamic config, relative to the root above. */
export const DYNAMIC_CONFIG_FILE = join('dynamicconfig', 'development-sql.yaml');
/** Creates or migrates the two databases (compose: the temporal-schema job). */
export const SCHEMA_SCRIPT = 'setup-schema.sh';
/** Creates namespace `default` and registers the search attributes (compose: the temporal-namespace job). */
export const NAMESPACE_SCRIPT = 'register-search-attributes.sh';

export type TemporalServiceName = 'frontend' | 'history' | 'matching' | 'worker';
/** The four server processes, in start order (history and matching before the frontend that routes to them). */
export const TEMPORAL_SERVICES: readonly TemporalServiceName[] = ['history', 'matching', 'frontend', 'worker'];

/** The namespace the engine prepares (compose's temporal-namespace job: TEMPORAL_NAMESPACE). */
export const ENGINE_NAMESPACE = 'default';

/** PostgreSQL role of the engine's own cluster (its superuser, created by initdb; loopback trust, no password). */
export const POSTGRES_USER = 'temporal';

/** Arguments of one server process. */
export function serverArgs(service: TemporalServiceName, root: string = TEMPORAL_CONFIG_ROOT): string[] {
  return [
    '--root', root,
    '--config', SERVER_CONFIG.dir,
    '--env', SERVER_CONFIG.env,
    // The gRPC ports are on loopback and the stack is a developer's own; compose's are on its private network.
    '--allow-no-auth',
    'start',
    '--service', service,
  ]; // prettier-ignore
}

/** The Temporal server's log levels. */
export type ServerLogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * The environment that renders `temporal/server/lockkeys.yaml` for one process: all ports (each process reads its own
 * section and the frontend's), its own metrics port, loopback everywhere, the dynamic config file.
 * Nothing else of ours leaks in: a developer's BIND_ON_IP or DB_PORT must not move the engine.
 */
export function serverEnv(
  service: TemporalServiceName,
  ports: PostgresEnginePorts,
  options: { logLevel?: ServerLogLevel; root?: string; env?: NodeJS.ProcessEnv } = {},
): NodeJS.ProcessEnv {
  const base = options.env ?? inheritedEnv();
  return {
    PATH: base.PATH,
    HOME: base.HOME,
    LOG_LEVEL: options.logLevel ?? 'info',
    POSTGRES_SEEDS: '127.0.0.1',
    DB_PORT: String(ports.postgres),
    POSTGRES_USER,
    BIND_ON_IP: '127.0.0.1',
    FRONTEND_GRPC_PORT: String(ports.frontend),
    FRONTEND_HTTP_PORT: String(ports.frontendHttp),
    FRONTEND_MEMBERSHIP_PORT: String(ports.frontendMembership),
    HISTORY_GRPC_PORT: String(ports.history),
    HISTORY_MEMBERSHIP_PORT: String(ports.historyMembership),
    MATCHING_GRPC_PORT: String(ports.matching),
    MATCHING_MEMBERSHIP_PORT: String(ports.matchingMembership),
    WORKER_GRPC_PORT: String(ports.worker),
    WORKER_MEMBERSHIP_PORT: String(ports.workerMembership),
    PROMETHEUS_PORT: String(ports[`${service}Metrics`]),
    DYNAMIC_CONFIG_FILE_PATH: join(options.root ?? TEMPORAL_CONFIG_ROOT, DYNAMIC_CONFIG_FILE),
  };
}

/** Arguments of the Web UI server. */
export function uiArgs(root: string = TEMPORAL_CONFIG_ROOT): string[] {
  return ['--root', root, '--config', UI_CONFIG.dir, '--env', UI_CONFIG.env, 'start'];
}

/** The environment that renders `temporal/ui/lockkeys.yaml`. */
export function uiEnv(ports: PostgresEnginePorts, env: NodeJS.ProcessEnv = inheritedEnv()): NodeJS.ProcessEnv {
  return {
    PATH: env.PATH,
    HOME: env.HOME,
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.frontend}`,
    TEMPORAL_UI_HOST: '127.0.0.1',
    TEMPORAL_UI_PORT: String(ports.ui),
  };
}
