import pino from 'pino';
import { ConfigError, loadConfigFromEnv } from './config';
import { startSimulator } from './server';

// Start-up failures are plain lines on stderr (one per bad variable), so an operator sees the cause without parsing JSON.
function failStartUp(error: unknown): void {
  if (error instanceof ConfigError) {
    for (const problem of error.problems) console.error(`lock-simulator: invalid configuration: ${problem}`);
  } else {
    console.error(`lock-simulator: ${error instanceof Error ? error.message : String(error)}`);
  }
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
