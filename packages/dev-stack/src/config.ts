import { resolve } from 'node:path';
import { type Env, parseEnv, port, secret, text } from '@lockkeys/config';
import { DEFAULT_PORTS, type StackPorts } from './ports';

/** What `npm run dev` reads (any other variable passes through to the apps it starts). */
const devEnv = {
  PORT: port({ min: 1, default: DEFAULT_PORTS.gateway }),
  LOCK_SIM_PORT: port({ min: 1, default: DEFAULT_PORTS.simulator }),
  TEMPORAL_PORT: port({ min: 1, default: DEFAULT_PORTS.temporal }),
  TEMPORAL_UI_PORT: port({ min: 1, default: DEFAULT_PORTS.temporalUi }),
  WORKER_HEALTH_PORT: port({ min: 1, default: DEFAULT_PORTS.workerHealth }),
  WORKER_METRICS_PORT: port({ min: 1, default: DEFAULT_PORTS.workerMetrics }),
  // The second worker, with --engine=postgres only.
  WORKER_2_HEALTH_PORT: port({ min: 1, default: DEFAULT_PORTS.worker2Health }),
  WORKER_2_METRICS_PORT: port({ min: 1, default: DEFAULT_PORTS.worker2Metrics }),
  LOCKKEYS_DATA_DIR: text(),
  JWT_SECRET: secret(),
  API_KEYS_FILE: text(),
};

/** What `npm run dev` needs to know, from the environment. */
export interface DevConfig {
  rootDir: string;
  dataDir: string;
  ports: StackPorts;
  /** Set when the user brings their own secret; otherwise the gateway's dev secret signs the printed JWT. */
  jwtSecret: string | undefined;
  /** Set when the user brings their own key file: then the printed curl cannot hold a working key. */
  apiKeysFile: string | undefined;
}

/**
 * Reads the environment (`env`, default `process.env`) once. Throws `ConfigError` from `@lockkeys/config`
 * with one line per bad variable.
 */
export function loadDevConfig(env: Env = process.env): DevConfig {
  const vars = parseEnv(devEnv, env);
  const rootDir = resolve(__dirname, '..', '..', '..');
  return {
    rootDir,
    dataDir: vars.LOCKKEYS_DATA_DIR ?? resolve(rootDir, '.data'),
    ports: {
      gateway: vars.PORT,
      simulator: vars.LOCK_SIM_PORT,
      temporal: vars.TEMPORAL_PORT,
      temporalUi: vars.TEMPORAL_UI_PORT,
      workerHealth: vars.WORKER_HEALTH_PORT,
      workerMetrics: vars.WORKER_METRICS_PORT,
      worker2Health: vars.WORKER_2_HEALTH_PORT,
      worker2Metrics: vars.WORKER_2_METRICS_PORT,
    },
    jwtSecret: vars.JWT_SECRET,
    apiKeysFile: vars.API_KEYS_FILE,
  };
}

/**
 * The environment this process was started with. dev-stack reads it here only: the Temporal CLI lookup
 * (`TEMPORAL_CLI`, `PATH`) starts from it, and the stack hands it on to the processes it starts.
 */
export function inheritedEnv(): NodeJS.ProcessEnv {
  return process.env;
}
