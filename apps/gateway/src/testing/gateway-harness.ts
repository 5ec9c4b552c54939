import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../app';
import { type GatewayConfig, loadConfig } from '../config';
import type { RunService } from '../runs';
import { createGatewayServer } from '../server';
import { type TestApiKey, type TestApiKeysFile, writeApiKeysFile } from './api-keys-file';
import { FakeRunService } from './fake-run-service';

/** A gateway listening on 127.0.0.1 (port 0) with a fake (or recorded real) RunService and captured log lines. */
export interface TestGateway<Runs extends RunService = FakeRunService> {
  port: number;
  runs: Runs;
  logs: string[];
  close(): Promise<void>;
}

/** Starts the real app and server (same as main.ts) on an ephemeral port, with a fresh FakeRunService or `runs`. */
export async function startGateway(config: GatewayConfig): Promise<TestGateway>;
export async function startGateway<Runs extends RunService>(
  config: GatewayConfig,
  runs: Runs,
): Promise<TestGateway<Runs>>;
export async function startGateway(
  config: GatewayConfig,
  runs: RunService = new FakeRunService(),
): Promise<TestGateway<RunService>> {
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const server: Server = createGatewayServer(createApp({ config, runs, logger }), logger);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    runs,
    logs,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/**
 * In a Jest file: the suite's gateway config, loaded before its tests (`NODE_ENV=test` and `env`) with `keys` in an
 * `API_KEYS_FILE` of its own, which is removed after them. Call the returned function in tests and hooks.
 */
export function configForSuite(keys: readonly TestApiKey[], env: Record<string, string>): () => GatewayConfig {
  let keysFile: TestApiKeysFile | undefined;
  let config: GatewayConfig | undefined;
  beforeAll(() => {
    keysFile = writeApiKeysFile(keys);
    config = loadConfig({ NODE_ENV: 'test', ...env, API_KEYS_FILE: keysFile.path });
  });
  afterAll(() => keysFile?.remove());
  return () => {
    if (config === undefined) throw new Error('the suite config is loaded in beforeAll: read it in tests and hooks');
    return config;
  };
}

/** In a `describe` block: a fresh gateway with `config()` for each test, started before it and closed after it. */
export function gatewayPerTest(config: () => GatewayConfig): TestGateway {
  let current: TestGateway | undefined;
  beforeEach(async () => {
    current = await startGateway(config());
  });
  afterEach(() => current?.close());
  const started = () => {
    if (current === undefined) throw new Error('the gateway of a test exists only while the test runs');
    return current;
  };
  return {
    get port() {
      return started().port;
    },
    get runs() {
      return started().runs;
    },
    get logs() {
      return started().logs;
    },
    close: () => started().close(),
  };
}
