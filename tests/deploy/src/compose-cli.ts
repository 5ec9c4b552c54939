import { spawnSync } from 'node:child_process';

/** A Docker Compose command line: `docker compose` (v2 plugin) or `docker-compose` (standalone). */
export interface ComposeCli {
  command: string;
  baseArgs: string[];
  version: string;
}

const CANDIDATES: readonly { command: string; baseArgs: string[] }[] = [
  { command: 'docker', baseArgs: ['compose'] },
  { command: 'docker-compose', baseArgs: [] },
];

/** The first Compose CLI that answers `version`, or undefined. Neither needs a Docker engine for that. */
export function findComposeCli(): ComposeCli | undefined {
  for (const candidate of CANDIDATES) {
    const result = spawnSync(candidate.command, [...candidate.baseArgs, 'version'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (result.status === 0) return { ...candidate, version: result.stdout.trim().split('\n')[0] ?? '' };
  }
  return undefined;
}

function apt(args: string[]): { ok: boolean; output: string } {
  const result = spawnSync('apt-get', args, {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return {
    ok: result.status === 0,
    output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}`,
  };
}

/**
 * A Compose CLI, installed from Debian's `docker-compose` package when none is there and this process may
 * (root with apt-get); otherwise `skipReason` says why there is none. Synchronous: Jest needs the answer
 * while it collects tests.
 */
export function ensureComposeCli(): { cli: ComposeCli } | { skipReason: string } {
  const found = findComposeCli();
  if (found !== undefined) return { cli: found };
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    return { skipReason: 'no `docker compose` or `docker-compose` on PATH, and not root on Linux to install one' };
  }
  if (spawnSync('apt-get', ['--version']).status !== 0) {
    return { skipReason: 'no `docker compose` or `docker-compose` on PATH, and no apt-get to install one' };
  }
  const install = ['install', '-y', '--no-install-recommends', 'docker-compose'];
  // A fresh machine's package lists are empty: update once, then install.
  let result = apt(install);
  if (!result.ok) {
    apt(['update']);
    result = apt(install);
  }
  const installed = findComposeCli();
  if (installed !== undefined) return { cli: installed };
  return {
    skipReason: `apt-get could not install docker-compose: ${result.output.trim().split('\n').slice(-3).join(' | ')}`,
  };
}

/** Runs `<compose> -f file --env-file envFile config` with exactly `env`; returns exit code and output. */
export function composeConfig(
  cli: ComposeCli,
  file: string,
  envFile: string,
  env: Readonly<Record<string, string>>,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(cli.command, [...cli.baseArgs, '--env-file', envFile, '-f', file, 'config'], {
    encoding: 'utf8',
    timeout: 60_000,
    // Only PATH and HOME from the host: a developer's JWT_SECRET or COMPOSE_* must not decide the outcome.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
  });
  return {
    status: result.status,
    stdout: result.stdout ?? '',
    stderr: `${result.stderr ?? ''}${result.error?.message ?? ''}`,
  };
}
