import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../app';
import type { GatewayConfig } from '../config';
import type { RunService } from '../runs';
import { createGatewayServer } from '../server';
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
