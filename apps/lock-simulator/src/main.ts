import pino from 'pino';
import { ConfigError, loadConfigFromEnv } from './config';
import { startSimulator } from './server';

// Start-up failures are one plain line on stderr, so an operator sees the cause without parsing JSON.
function failStartUp(error: unknown): void {
  const reason = error instanceof Error ? error.message : String(error);
  console.error(`lock-simulator: ${error instanceof ConfigError ? 'invalid configuration: ' : ''}${reason}`);
  process.exitCode = 1;
}

async function main(): Promise<void> {
  const config = loadConfigFromEnv();
  const logger = pino({ level: config.logLevel });
  const simulator = await startSimulator({ ...config, logger });
  logger.info({ url: simulator.url }, 'lock simulator listening');

  const stop = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'lock simulator stopping');
    simulator.close().then(
      () => logger.info('lock simulator stopped'),
      (error: unknown) => {
        logger.error({ err: error }, 'lock simulator did not stop cleanly');
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch(failStartUp);
