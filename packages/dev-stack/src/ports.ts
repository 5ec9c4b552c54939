import { connect, createServer } from 'node:net';

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
  /** The second worker of the postgres engine. */
  worker2Health: number;
  worker2Metrics: number;
}

export const DEFAULT_PORTS: StackPorts = {
  temporal: 7233,
  temporalUi: 8233,
  simulator: 3100,
  gateway: 3000,
  workerHealth: 9465,
  workerMetrics: 9464,
  worker2Health: 9466,
  worker2Metrics: 9467,
};

/** A TCP port on 127.0.0.1 that was free a moment ago (for tests that run a whole stack). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True when nothing listens on 127.0.0.1:`port`. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function listens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
