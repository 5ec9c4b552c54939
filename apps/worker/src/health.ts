import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { State } from '@temporalio/worker';

/**
 * `/healthz` (process alive) and `/readyz` (polling all its task queues) for supervisors, compose and k8s probes.
 * The SDK's Prometheus exporter owns the metrics port, so health has a port of its own.
 */
export async function startHealthServer(worker: { getState(): State }, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const state = worker.getState();
    const [status, body] =
      path === '/healthz'
        ? [200, { status: 'ok', state }]
        : path === '/readyz'
          ? state === 'RUNNING'
            ? [200, { status: 'ready', state }]
            : [503, { error: 'Service Unavailable', message: `Worker is ${state.toLowerCase()}`, code: 503 }]
          : [404, { error: 'Not Found', message: 'No such route', code: 404 }];
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}

export const boundPort = (server: Server) => (server.address() as AddressInfo).port;
