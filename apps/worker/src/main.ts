import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import pino from 'pino';
import { ConfigError, loadConfig } from './config';
import { boundPort, startHealthServer } from './health';
import { createWorkers } from './worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ name: 'worker', level: config.logLevel });
  Runtime.install({
    // SIGINT/SIGTERM start a graceful shutdown: no new tasks, in-flight activities finish within the grace time.
    shutdownSignals: ['SIGINT', 'SIGTERM', 'SIGQUIT'],
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      metrics: { prometheus: { bindAddress: `${config.metrics.host}:${config.metrics.port}` } },
    },
    logger: {
      log: (level, message, meta) =>
        logger[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'info')]({ ...meta }, message),
      trace: (message, meta) => logger.trace({ ...meta }, message),
      debug: (message, meta) => logger.debug({ ...meta }, message),
      info: (message, meta) => logger.info({ ...meta }, message),
      warn: (message, meta) => logger.warn({ ...meta }, message),
      error: (message, meta) => logger.error({ ...meta }, message),
    },
  });
  const { connectionOptions } = config.temporal;
  const connection = await NativeConnection.connect(connectionOptions);
  const clientConnection = await Connection.connect(connectionOptions);
  try {
    const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
    const workers = await createWorkers(config, connection, client);
    const health = await startHealthServer(workers, config.health.host, config.health.port);
    const running = workers.run();
    logger.info(
      {
        taskQueue: config.temporal.taskQueue,
        addKey: config.runSettings.addKey.activity,
        namespace: config.temporal.namespace,
        lockBackend: config.lockBackend.baseUrl,
        // How the worker authenticates to Temporal, never the credential itself.
        temporal: { address: config.temporal.address, tls: config.temporal.tls, auth: config.temporal.auth },
        webhookOrgs: config.webhooks.size,
        health: `http://${config.health.host}:${boundPort(health)}/readyz`,
      },
      'worker ready',
    );
    try {
      await running;
    } finally {
      health.close();
    }
    logger.info('worker stopped');
  } finally {
    await clientConnection.close();
    await connection.close();
  }
}

main().catch((error: unknown) => {
  // One fatal line per bad variable, or the one error that stopped start-up.
  const lines =
    error instanceof ConfigError ? error.problems : [error instanceof Error ? error.message : String(error)];
  for (const msg of lines) process.stderr.write(`${JSON.stringify({ level: 60, name: 'worker', msg })}\n`);
  process.exit(1);
});
