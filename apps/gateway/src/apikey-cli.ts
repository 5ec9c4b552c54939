import { parseArgs } from 'node:util';
import { createApiKey } from './apikey';

const USAGE = `Usage: apikey create --org <orgId> --locks <lockId,lockId,...|"*"> [--id <keyId>]

Mints an API key. The key is printed once; only its sha256 goes into API_KEYS_FILE.`;

/** `apikey create ...`: prints the key and the API_KEYS_FILE entry; returns the process exit code. */
function run(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        org: { type: 'string' },
        locks: { type: 'string' },
        id: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (
    positionals.length !== 1 ||
    positionals[0] !== 'create' ||
    values.org === undefined ||
    values.locks === undefined
  ) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }

  let minted;
  try {
    minted = createApiKey({
      orgId: values.org,
      locks: values.locks,
      ...(values.id !== undefined && { id: values.id }),
    });
  } catch (err) {
    process.stderr.write(`apikey: ${(err as Error).message}\n`);
    return 2;
  }
  const { key, entry } = minted;
  const locks =
    entry.locks === '*' ? 'every lock' : `lock${entry.locks.length === 1 ? '' : 's'} ${entry.locks.join(', ')}`;
  process.stdout.write(
    [
      `New API key "${entry.id}" for organization "${entry.orgId}" on ${locks}:`,
      '',
      `  ${key}`,
      '',
      'This is the only time the key is shown: hand it to the client now (X-API-Key header).',
      'Add this entry to the "keys" array of API_KEYS_FILE and restart the gateway:',
      '',
      `  ${JSON.stringify(entry)}`,
      '',
    ].join('\n'),
  );
  return 0;
}

process.exitCode = run(process.argv.slice(2));
