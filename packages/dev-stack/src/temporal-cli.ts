import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { inheritedEnv } from './config';

/** The Temporal CLI version we build when none is available (newest tag `go install` accepts). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const MODULE = 'github.com/temporalio/cli/cmd/temporal';

/** Raised when no Temporal CLI can be found or built; its message says what to do. */
export class TemporalCliUnavailableError extends Error {
  override name = 'TemporalCliUnavailableError';
}

/** True when `path` is a file this process may execute. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** True when the Temporal server at `address` answers `SERVING` to `temporal operator cluster health` within 5 s. */
export function temporalServing(temporalCli: string, address: string, env?: NodeJS.ProcessEnv): boolean {
  const health = spawnSync(temporalCli, ['operator', 'cluster', 'health', '--address', address], {
    encoding: 'utf8',
    timeout: 5_000,
    // The CLI reads the profile it is given, not the shell's TEMPORAL_API_KEY or its own default file.
    ...(env !== undefined && { env }),
  });
  return health.stdout?.includes('SERVING') ?? false;
}

/** Where our own build of the CLI lives: outside any checkout, keyed by version, so clones and CI reuse it. */
export function cachedCliPath(env: NodeJS.ProcessEnv = inheritedEnv()): string {
  const cacheRoot = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cacheRoot, 'lockkeys', 'temporal-cli', TEMPORAL_CLI_VERSION, 'temporal');
}

/** The CLI to use without building anything: `TEMPORAL_CLI`, then `temporal` on PATH, then our cache. */
export function findTemporalCli(env: NodeJS.ProcessEnv = inheritedEnv()): string | undefined {
  if (env.TEMPORAL_CLI) {
    if (!isExecutable(env.TEMPORAL_CLI)) {
      throw new TemporalCliUnavailableError(`TEMPORAL_CLI=${env.TEMPORAL_CLI} is not an executable file.`);
    }
    return env.TEMPORAL_CLI;
  }
  return onPath('temporal', env) ?? (isExecutable(cachedCliPath(env)) ? cachedCliPath(env) : undefined);
}

const HOW_TO_GET_IT = [
  'lockkeys needs the Temporal CLI (it runs the Temporal dev server). Any one of these works:',
  `  - install Go (https://go.dev/dl/) and run this command again: it builds ${MODULE}@${TEMPORAL_CLI_VERSION} once;`,
  '  - Homebrew: brew install temporal;',
  '  - the release archive from https://github.com/temporalio/cli/releases, then put `temporal` on PATH',
  '    or set TEMPORAL_CLI=/path/to/temporal.',
].join('\n');

/**
 * The Temporal CLI, built with `go install` into the user cache on first use.
 * Concurrent callers are safe: the build goes to a private folder and is renamed into place.
 */
export function ensureTemporalCli(
  env: NodeJS.ProcessEnv = inheritedEnv(),
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): string {
  const found = findTemporalCli(env);
  if (found) return found;
  if (spawnSync('go', ['version'], { env }).status !== 0) throw new TemporalCliUnavailableError(HOW_TO_GET_IT);

  const target = cachedCliPath(env);
  const staging = `${target}.build-${process.pid}`;
  mkdirSync(staging, { recursive: true });
  log(`[lockkeys] building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go (once, takes a few minutes)...`);
  const started = Date.now();
  const build = spawnSync('go', ['install', `${MODULE}@${TEMPORAL_CLI_VERSION}`], {
    env: { ...env, GOBIN: staging, GOFLAGS: `${env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
    stdio: ['ignore', 'inherit', 'inherit'],
    cwd: homedir(),
  });
  if (build.status !== 0 || !existsSync(join(staging, 'temporal'))) {
    rmSync(staging, { recursive: true, force: true });
    throw new TemporalCliUnavailableError(`\`go install ${MODULE}@${TEMPORAL_CLI_VERSION}\` failed.\n${HOW_TO_GET_IT}`);
  }
  renameSync(join(staging, 'temporal'), target);
  rmSync(staging, { recursive: true, force: true });
  log(`[lockkeys] Temporal CLI ready at ${target} (${Math.round((Date.now() - started) / 1000)} s)`);
  return target;
}
