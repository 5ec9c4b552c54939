import { createServer, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { createSimulatorApp } from './app';
import { resolveConfig, type SimulatorConfigOverrides } from './config';
import { createFaultInjector } from './faults';
import { openLockStore } from './store';

/** Options of `startSimulator`; every field is optional and defaults to the config default (not to env). */
export interface StartSimulatorOptions extends SimulatorConfigOverrides {
  /** Logger to use; default: a pino logger at `logLevel` writing to stdout. */
  logger?: Logger;
}

/** A listening lock simulator. */
export interface RunningSimulator {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  /** Stops listening, lets in-flight commands finish (briefly), then closes the database. Safe to call twice. */
  close(): Promise<void>;
}

// How long in-flight commands may take to finish on close, beyond the configured latency.
const CLOSE_GRACE_MS = 1000;

/**
 * Starts the lock simulator on `options.host` (default 127.0.0.1) and `options.port` (`0` picks a free port),
 * with its state in `options.dbPath` (`:memory:` allowed). Throws `ConfigError` on invalid options.
 */
export async function startSimulator(options: StartSimulatorOptions = {}): Promise<RunningSimulator> {
  const { logger: givenLogger, ...overrides } = options;
  const config = resolveConfig(overrides);
  const logger = givenLogger ?? pino({ level: config.logLevel });
  const store = openLockStore(config.dbPath);
  const faults = createFaultInjector(config.faults);
  const server = createServer(createSimulatorApp({ config, store, faults, logger }));

  // Replies still being prepared at close get `Connection: close`, so their keep-alive sockets end with them.
  const unanswered = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    unanswered.add(res);
    res.on('close', () => unanswered.delete(res));
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    store.close();
    throw error;
  }

  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host}:${port}`,
    port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => {
          store.close();
          resolve();
        });
        for (const res of unanswered) if (!res.headersSent) res.setHeader('Connection', 'close');
        server.closeIdleConnections();
        // Commands still waiting on injected latency get a moment, then their sockets go.
        setTimeout(() => server.closeAllConnections(), faults.view().latencyMs + CLOSE_GRACE_MS).unref();
      });
      return closing;
    },
  };
}
