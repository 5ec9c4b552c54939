import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { isExecutable } from '../temporal-cli';
import { inheritedEnv } from '../config';

/** The Temporal server version of the engine; docker-compose.yml pins the same (tests/deploy checks it). */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
/** The standalone Web UI server version; docker-compose.yml's temporalio/ui image carries the same. */
export const TEMPORAL_UI_SERVER_VERSION = 'v2.42.1';
/** Oldest PostgreSQL the server's `postgres12` persistence plugin supports. */
export const MIN_POSTGRES_MAJOR = 12;

const SERVER_MODULE = 'go.temporal.io/server';
const UI_MODULE = 'github.com/temporalio/ui-server/v2';

/** Raised when a binary of the postgres engine can be neither found nor built; its message says what to do. */
export class EngineBinariesUnavailableError extends Error {
  override name = 'EngineBinariesUnavailableError';
}

/** The three Go programs of the engine besides the Temporal CLI. */
export interface TemporalServerBinaries {
  /** `temporal-server`: frontend, history, matching and worker services. */
  server: string;
  /** `temporal-sql-tool`: creates and migrates the schemas. */
  sqlTool: string;
  /** `temporal-ui-server`: the standalone Web UI. */
  uiServer: string;
}

interface GoBinary {
  key: keyof TemporalServerBinaries;
  /** Environment variable naming an existing binary, which then wins. */
  envVar: string;
  /** Our name for it in the cache. */
  fileName: string;
  /** Go module and package path for `go install`, and the name `go install` gives the binary. */
  module: string;
  goPackage: string;
  goName: string;
  version: string;
  cacheFolder: string;
}

const GO_BINARIES: readonly GoBinary[] = [
  {
    key: 'server',
    envVar: 'TEMPORAL_SERVER_BIN',
    fileName: 'temporal-server',
    module: SERVER_MODULE,
    goPackage: `${SERVER_MODULE}/cmd/server`,
    goName: 'server',
    version: TEMPORAL_SERVER_VERSION,
    cacheFolder: 'temporal-server',
  },
  {
    key: 'sqlTool',
    envVar: 'TEMPORAL_SQL_TOOL_BIN',
    fileName: 'temporal-sql-tool',
    module: SERVER_MODULE,
    goPackage: `${SERVER_MODULE}/cmd/tools/sql`,
    goName: 'sql',
    version: TEMPORAL_SERVER_VERSION,
    cacheFolder: 'temporal-server',
  },
  {
    key: 'uiServer',
    envVar: 'TEMPORAL_UI_SERVER_BIN',
    fileName: 'temporal-ui-server',
    module: UI_MODULE,
    goPackage: `${UI_MODULE}/cmd/server`,
    goName: 'server',
    version: TEMPORAL_UI_SERVER_VERSION,
    cacheFolder: 'temporal-ui-server',
  },
];

const cacheRoot = (env: NodeJS.ProcessEnv) => join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lockkeys');

/** Where our builds live: outside any checkout, keyed by version (`~/.cache/lockkeys/temporal-server/v1.29.1/…`). */
export function cachedServerBinaryPaths(env: NodeJS.ProcessEnv = inheritedEnv()): TemporalServerBinaries {
  const paths = GO_BINARIES.map(
    (binary) => [binary.key, join(cacheRoot(env), binary.cacheFolder, binary.version, binary.fileName)] as const,
  );
  return Object.fromEntries(paths) as unknown as TemporalServerBinaries;
}

/** One binary without building: its environment variable (which must then be executable), else our cache. */
function findGoBinary(binary: GoBinary, env: NodeJS.ProcessEnv): string | undefined {
  const named = env[binary.envVar];
  if (named) {
    if (!isExecutable(named)) {
      throw new EngineBinariesUnavailableError(`${binary.envVar}=${named} is not an executable file.`);
    }
    return named;
  }
  const cached = cachedServerBinaryPaths(env)[binary.key];
  return isExecutable(cached) ? cached : undefined;
}

/** The engine's binaries that exist already (environment variables, then the cache); missing ones are absent. */
export function findTemporalServerBinaries(env: NodeJS.ProcessEnv = inheritedEnv()): Partial<TemporalServerBinaries> {
  const found: Partial<TemporalServerBinaries> = {};
  for (const binary of GO_BINARIES) {
    const path = findGoBinary(binary, env);
    if (path !== undefined) found[binary.key] = path;
  }
  return found;
}

const howToGetServerBinaries = (missing: readonly GoBinary[]) =>
  [
    `lockkeys --engine=postgres needs ${missing.map((binary) => `${binary.fileName} ${binary.version}`).join(', ')}. Any one of these works:`,
    '  - install Go (https://go.dev/dl/) and run this command again: it builds them once with',
    ...missing.map((binary) => `      go install ${binary.goPackage}@${binary.version}`),
    `  - the release archives of temporalio/temporal ${TEMPORAL_SERVER_VERSION} and temporalio/ui-server ${TEMPORAL_UI_SERVER_VERSION}`,
    `    on GitHub, then point ${missing.map((binary) => binary.envVar).join(', ')} at the binaries;`,
    '  - or run the same engine in containers: docker compose up (README "Deploy").',
  ].join('\n');

/**
 * The Temporal server, SQL tool and Web UI server, each from its environment variable (`TEMPORAL_SERVER_BIN`,
 * `TEMPORAL_SQL_TOOL_BIN`, `TEMPORAL_UI_SERVER_BIN`), else our cache, else built there with `go install` once.
 * Concurrent callers are safe: each build goes to a private folder and is renamed into place.
 */
export function ensureTemporalServerBinaries(
  env: NodeJS.ProcessEnv = inheritedEnv(),
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): TemporalServerBinaries {
  const found = findTemporalServerBinaries(env);
  const missing = GO_BINARIES.filter((binary) => found[binary.key] === undefined);
  if (missing.length === 0) return found as TemporalServerBinaries;
  if (spawnSync('go', ['version'], { env }).status !== 0) {
    throw new EngineBinariesUnavailableError(howToGetServerBinaries(missing));
  }
  const targets = cachedServerBinaryPaths(env);
  // One `go install` per module version: the server and the SQL tool share theirs.
  const moduleOf = (binary: GoBinary) => `${binary.module}@${binary.version}`;
  for (const moduleVersion of new Set(missing.map(moduleOf))) {
    const group = missing.filter((binary) => moduleOf(binary) === moduleVersion);
    const [first] = group;
    if (first === undefined) continue;
    const packages = group.map((binary) => `${binary.goPackage}@${binary.version}`);
    const staging = join(dirname(targets[first.key]), `.build-${process.pid}`);
    mkdirSync(staging, { recursive: true });
    log(
      `[lockkeys] building ${group.map((binary) => binary.fileName).join(' and ')} ${first.version} with Go (once)...`,
    );
    const started = Date.now();
    const build = spawnSync('go', ['install', ...packages], {
      env: { ...env, GOBIN: staging, GOFLAGS: `${env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
      stdio: ['ignore', 'inherit', 'inherit'],
      cwd: homedir(),
    });
    const built = existsSync(staging) ? readdirSync(staging) : [];
    if (build.status !== 0 || group.some((binary) => !built.includes(binary.goName))) {
      rmSync(staging, { recursive: true, force: true });
      throw new EngineBinariesUnavailableError(
        `\`go install ${packages.join(' ')}\` failed.\n${howToGetServerBinaries(group)}`,
      );
    }
    for (const binary of group) renameSync(join(staging, binary.goName), targets[binary.key]);
    rmSync(staging, { recursive: true, force: true });
    log(
      `[lockkeys] built in ${Math.round((Date.now() - started) / 1000)} s: ${group.map((binary) => targets[binary.key]).join(', ')}`,
    );
  }
  return { ...targets, ...found };
}

/** The PostgreSQL programs the engine runs. */
export interface PostgresBinaries {
  binDir: string;
  initdb: string;
  pgCtl: string;
  postgres: string;
  /** Major version, e.g. 15. */
  major: number;
}

const PROGRAMS = ['initdb', 'pg_ctl', 'postgres'] as const;

/** Folders that commonly hold PostgreSQL's server programs, newest version first. */
export function candidateBinDirs(env: NodeJS.ProcessEnv = inheritedEnv()): string[] {
  const versioned = (parent: string, pattern: RegExp, bin: (name: string) => string) => {
    if (!existsSync(parent)) return [];
    return readdirSync(parent)
      .map((name) => ({ name, major: Number(pattern.exec(name)?.[1] ?? NaN) }))
      .filter((entry) => Number.isInteger(entry.major))
      .sort((a, b) => b.major - a.major)
      .map((entry) => bin(entry.name));
  };
  return [
    // On PATH (Homebrew's default links, Postgres.app, a hand-built install).
    ...(env.PATH ?? '').split(delimiter).filter(Boolean),
    // Debian and Ubuntu keep the server programs off PATH.
    ...versioned('/usr/lib/postgresql', /^(\d+)$/, (name) => join('/usr/lib/postgresql', name, 'bin')),
    // Red Hat family (PGDG packages).
    ...versioned('/usr', /^pgsql-(\d+)$/, (name) => join('/usr', name, 'bin')),
    // Homebrew's versioned formulae, which are keg-only.
    ...['/opt/homebrew/opt', '/usr/local/opt'].flatMap((parent) =>
      versioned(parent, /^postgresql@(\d+)$/, (name) => join(parent, name, 'bin')),
    ),
  ];
}

function majorVersion(postgres: string): number | undefined {
  const result = spawnSync(postgres, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const match = /\(PostgreSQL\)\s+(\d+)/.exec(result.stdout ?? '');
  return match ? Number(match[1]) : undefined;
}

const HOW_TO_GET_POSTGRES = [
  `lockkeys --engine=postgres needs PostgreSQL ${MIN_POSTGRES_MAJOR} or newer (initdb, pg_ctl, postgres). Any one of these works:`,
  '  - Debian/Ubuntu: apt-get install postgresql (the programs in /usr/lib/postgresql/<version>/bin are found there);',
  '  - Homebrew: brew install postgresql@16;',
  '  - any other install: set POSTGRES_BIN_DIR to the folder that holds initdb, pg_ctl and postgres.',
  'Nothing else is needed: the engine creates its own private cluster, it never touches a system one.',
].join('\n');

/** PostgreSQL's server programs: from `POSTGRES_BIN_DIR` when set, else the first usable folder of `candidates`. */
export function ensurePostgresBinaries(
  env: NodeJS.ProcessEnv = inheritedEnv(),
  candidates: readonly string[] = candidateBinDirs(env),
): PostgresBinaries {
  const usable = (binDir: string): PostgresBinaries | string => {
    const missing = PROGRAMS.filter((program) => !isExecutable(join(binDir, program)));
    if (missing.length > 0) return `${binDir} has no ${missing.join(', ')}`;
    const major = majorVersion(join(binDir, 'postgres'));
    if (major === undefined) return `${join(binDir, 'postgres')} --version does not name a PostgreSQL version`;
    if (major < MIN_POSTGRES_MAJOR) return `${binDir} is PostgreSQL ${major}, older than ${MIN_POSTGRES_MAJOR}`;
    return {
      binDir,
      initdb: join(binDir, 'initdb'),
      pgCtl: join(binDir, 'pg_ctl'),
      postgres: join(binDir, 'postgres'),
      major,
    };
  };
  if (env.POSTGRES_BIN_DIR) {
    const found = usable(env.POSTGRES_BIN_DIR);
    if (typeof found === 'string')
      throw new EngineBinariesUnavailableError(`POSTGRES_BIN_DIR: ${found}.\n${HOW_TO_GET_POSTGRES}`);
    return found;
  }
  const problems: string[] = [];
  for (const binDir of candidates) {
    // A folder on PATH without initdb is just another folder, not a broken install.
    if (!isExecutable(join(binDir, 'initdb'))) continue;
    const found = usable(binDir);
    if (typeof found !== 'string') return found;
    problems.push(found);
  }
  const seen = problems.length > 0 ? `\n(found, but not usable: ${problems.join('; ')})` : '';
  throw new EngineBinariesUnavailableError(`${HOW_TO_GET_POSTGRES}${seen}`);
}
