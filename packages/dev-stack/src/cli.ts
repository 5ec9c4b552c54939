import { basename, delimiter, dirname } from 'node:path';
import { ConfigError } from '@lockkeys/config';
import { DEV_API_KEY, DEV_JWT_SECRET } from '@lockkeys/contracts';
import { inheritedEnv, loadDevConfig, type DevConfig } from './config';
import { mintJwt } from './credentials';
import { portIsFree } from './ports';
import {
  EngineBinariesUnavailableError,
  PortInUseError,
  PostgresClusterError,
  assertEnginePortsFree,
  enginePortsFromEnv,
  ensurePostgresBinaries,
  ensureTemporalServerBinaries,
} from './postgres';
import { startStack, type Stack, type StackEngine } from './stack';
import { TemporalCliUnavailableError, ensureTemporalCli, findTemporalCli } from './temporal-cli';

/** Keys of the printed example: fixed, so pasting it again is an idempotent replay at the lock, not a 409. */
const EXAMPLE_KEYS = [1, 2, 3].map((n) => ({
  keyUuid: `00000000-0000-4000-8000-00000000000${n}`,
  keyIndexNumber: n,
  userId: `user-${n}`,
}));

/** `dir` inside double quotes for a POSIX shell. */
const shellQuoted = (dir: string) => `"${dir.replace(/["$`\\]/g, '\\$&')}"`;

/** Where the Temporal CLI is and, unless `temporal` already finds it, the line that makes it so in another shell. */
function temporalCliLines(env: NodeJS.ProcessEnv = inheritedEnv()): string[] {
  const cli = findTemporalCli(env);
  if (cli === undefined) return [];
  const dir = dirname(cli);
  if (basename(cli) === 'temporal' && (env.PATH ?? '').split(delimiter).includes(dir)) {
    return ['', `Temporal CLI: ${cli}`];
  }
  return [
    '',
    `Temporal CLI: ${cli}; for \`temporal workflow list --query 'LockId = 123'\` in another shell:`,
    basename(cli) === 'temporal' ? `export PATH=${shellQuoted(dir)}:"$PATH"` : `alias temporal=${shellQuoted(cli)}`,
  ];
}

function banner(stack: Stack, config: DevConfig): string {
  const token = mintJwt(config.jwtSecret ?? DEV_JWT_SECRET, {
    sub: 'dev-user',
    org: config.apiKeysFile ? undefined : 'dev',
  });
  const apiKey = config.apiKeysFile ? '<one of your API keys>' : DEV_API_KEY;
  const body = JSON.stringify({ keys: EXAMPLE_KEYS });
  return [
    '',
    'lockkeys is up:',
    `  gateway          ${stack.gatewayUrl}`,
    `  Temporal Web UI  ${stack.webUiUrl}/namespaces/default/workflows?query=LockId%3D123`,
    `  Temporal gRPC    ${stack.temporalAddress}`,
    ...(stack.engine
      ? [`  PostgreSQL       ${stack.engine.postgresUrl}  (cluster in ${stack.engine.postgresDir})`]
      : []),
    `  lock simulator   ${stack.simulatorUrl}  (journal: ${stack.simulatorUrl}/locks/123/commands)`,
    '',
    'Add 3 keys to lock 123 (the JWT is valid for 24 hours):',
    '',
    `curl -i -X POST ${stack.gatewayUrl}/locks/123/BulkAddKeys \\`,
    `  -H 'Authorization: Bearer ${token}' \\`,
    `  -H 'X-API-Key: ${apiKey}' \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d '${body}'`,
    '',
    'Then watch the keys arrive at the lock:',
    `curl -s -H 'Authorization: Bearer dev-lock-token' ${stack.simulatorUrl}/locks/123/commands`,
    ...temporalCliLines(),
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}

/** `--engine=postgres` or `--engine postgres`; default dev. */
function engineFrom(args: string[]): StackEngine {
  const index = args.findIndex((arg) => arg === '--engine' || arg.startsWith('--engine='));
  if (index === -1) return 'dev';
  const value = args[index]?.includes('=') ? args[index]?.split('=')[1] : args[index + 1];
  if (value !== 'dev' && value !== 'postgres')
    throw new Error(`--engine must be dev or postgres, not ${value ?? 'nothing'}`);
  return value;
}

async function dev(args: string[]): Promise<void> {
  const config = loadDevConfig();
  const engine = engineFrom(args);
  // The postgres engine's own ports (frontend and Web UI are TEMPORAL_PORT and TEMPORAL_UI_PORT, checked below).
  const enginePorts =
    engine === 'postgres'
      ? { ...enginePortsFromEnv(inheritedEnv()), frontend: config.ports.temporal, ui: config.ports.temporalUi }
      : undefined;
  const { ports } = config;
  const busy: string[] = [];
  for (const [name, port] of Object.entries(ports)) {
    // The dev engine runs one worker.
    if (engine === 'dev' && name.startsWith('worker2')) continue;
    if (port !== undefined && !(await portIsFree(port))) busy.push(`${name} port ${port}`);
  }
  if (busy.length > 0) {
    throw new Error(
      `already in use: ${busy.join(', ')} (another \`npm run dev\`? set PORT, LOCK_SIM_PORT, TEMPORAL_PORT, TEMPORAL_UI_PORT to move)`,
    );
  }
  if (enginePorts) await assertEnginePortsFree(enginePorts);

  // Ctrl-C while the stack starts aborts the start, which stops what already runs (PostgreSQL last).
  const starting = new AbortController();
  let stack: Stack | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\n[lockkeys] stopping...\n');
    starting.abort();
    await stack?.stop();
    if (stack) {
      process.stdout.write('[lockkeys] stopped\n');
      process.exit(code);
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(0));
  try {
    stack = await startStack({
      rootDir: config.rootDir,
      dataDir: config.dataDir,
      ports,
      engine,
      enginePorts,
      signal: starting.signal,
    });
  } catch (error) {
    if (!stopping) throw error;
    process.stdout.write('[lockkeys] stopped\n');
    process.exit(130);
  }
  if (stopping) return;
  for (const service of Object.values(stack.services)) {
    void service.exited.then((code) => {
      if (stopping) return;
      process.stderr.write(`[lockkeys] ${service.name} exited unexpectedly (code ${code}); stopping the stack\n`);
      void stop(1);
    });
  }
  process.stdout.write(banner(stack, config));
}

async function main(command: string | undefined, args: string[]): Promise<void> {
  if (command === 'ensure-temporal') {
    process.stdout.write(`${ensureTemporalCli()}\n`);
  } else if (command === 'ensure-postgres-engine') {
    // Everything `dev --engine=postgres` needs, built or found once, without starting anything. `--server-only`
    // (npm test) builds the Go programs and leaves PostgreSQL, a system package, to the tests that need it.
    const serverOnly = args.includes('--server-only');
    const binaries = {
      temporal: ensureTemporalCli(),
      ...ensureTemporalServerBinaries(),
      ...(!serverOnly && { postgres: ensurePostgresBinaries().binDir }),
    };
    for (const [name, path] of Object.entries(binaries)) process.stdout.write(`${name} ${path}\n`);
  } else if (command === 'dev') {
    await dev(args);
  } else {
    throw new Error(
      'usage: cli.js <dev [--engine=dev|postgres]|ensure-temporal|ensure-postgres-engine [--server-only]>',
    );
  }
}

/** Errors whose message is the whole story (what is missing and how to get it); no "error:" in front. */
const EXPLAINED = [TemporalCliUnavailableError, EngineBinariesUnavailableError, PostgresClusterError, PortInUseError];

main(process.argv[2], process.argv.slice(3)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    for (const problem of error.problems)
      process.stderr.write(`[lockkeys] invalid configuration: ${problem}
`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    const explained = EXPLAINED.some((type) => error instanceof type);
    process.stderr.write(`[lockkeys] ${explained ? '' : 'error: '}${message}
`);
  }
  process.exit(1);
});
