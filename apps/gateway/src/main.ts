import pino from 'pino';
import { createApp } from './app';
import { ConfigError, type GatewayConfig, loadConfig } from './config';
import { createGatewayServer } from './server';
import { createTemporalRunService } from './temporal';

// A stuck connection must not keep a stopping gateway alive forever.
const SHUTDOWN_GRACE_MS = 10_000;

/** The configuration, or one fatal log line per bad variable and exit 1. */
function loadConfigOrExit(): GatewayConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const logger = pino({ base: { service: 'gateway' }, timestamp: pino.stdTimeFunctions.isoTime });
    for (const problem of err.problems) logger.fatal(problem);
    process.exit(1);
  }
}

function main(): void {
  const config = loadConfigOrExit();
  const logger = pino({
    level: config.logLevel,
    base: { service: 'gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
  if (!config.isProduction) {
    logger.warn(
      { jwtKey: config.jwt.keySource, apiKeys: config.apiKeysSource },
      'development mode: built-in credentials may be in use',
    );
  }
  logger.info(
    {
      jwtAlgorithm: config.jwt.algorithm,
      jwtKey: config.jwt.keySource,
      apiKeyCount: config.apiKeys.length,
      rateLimitPerMinute: config.limits.rateLimitPerMinute,
    },
    'credentials loaded',
  );
  const runs = createTemporalRunService(config);
  const app = createApp({ config, runs, logger });
  const server = createGatewayServer(app, logger);

  server.on('error', (err) => {
    logger.fatal({ err }, 'gateway cannot listen');
    process.exit(1);
  });
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const { namespace, tls, auth, profile } = config.temporal;
    // How the gateway authenticates to Temporal, never the credential itself.
    const temporal = {
      address: config.temporal.address,
      namespace,
      tls,
      auth,
      ...(profile && { profile: `${profile.name} (${profile.file})` }),
    };
    logger.info({ url: `http://${host}:${port}`, temporal }, 'gateway listening');
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'gateway stopping');
    setTimeout(() => {
      logger.error('shutdown grace period over; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    server.close(() => {
      runs
        .close()
        .catch((err: unknown) => logger.error({ err }, 'closing the Temporal connection failed'))
        .finally(() => {
          logger.info('gateway stopped');
          process.exit(0);
        });
    });
    // Idle keep-alive sockets would otherwise hold server.close() open until they time out.
    server.closeIdleConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main();
