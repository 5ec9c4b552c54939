import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { processAlive, type ServiceSpec } from '../service';
import type { PostgresBinaries } from './binaries';
import { POSTGRES_USER } from './server-config';
import { inheritedEnv } from '../config';

/** The unprivileged account PostgreSQL runs as when we are root (initdb and postgres refuse root). */
export interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

/** Raised when the private PostgreSQL cluster cannot be set up; its message says why and what to do. */
export class PostgresClusterError extends Error {
  override name = 'PostgresClusterError';
}

/** Undefined when we are not root (PostgreSQL then runs as ourselves); else the `postgres` account. */
export function postgresRunAs(user = 'postgres'): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, user], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) {
    throw new PostgresClusterError(
      `running as root, which PostgreSQL refuses, and there is no user ${user} to run it as: ` +
        `create one (useradd --system ${user}) or run lockkeys as an ordinary user`,
    );
  }
  return { user, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** True when `runAs` may enter `dir`, which needs search permission on every folder of its path. */
export function reachableBy(dir: string, runAs: RunAs | undefined): boolean {
  if (runAs === undefined) return true;
  return spawnSync('test', ['-x', dir], { uid: runAs.uid, gid: runAs.gid }).status === 0;
}

/** Unix socket paths are limited to 108 bytes on Linux and 104 on macOS; keep a margin. */
export const MAX_SOCKET_PATH = 100;

/** Where a data dir's cluster lives, and why it is not in the data dir when it is not. */
export interface ClusterLocation {
  dir: string;
  fallbackReason?: string;
}

/**
 * `<dataDir>/postgres`, unless the PostgreSQL user cannot reach it (a checkout under a 700 home, a 700 temp dir)
 * or its socket path would be too long: then a folder of its own under `fallbackRoot` (world-traversable),
 * named from a hash of the data dir's absolute path, so the same checkout finds the same cluster again.
 */
export function clusterLocation(
  dataDir: string,
  canReach: (dir: string) => boolean,
  fallbackRoot: string = existsSync('/var/tmp') ? '/var/tmp' : tmpdir(),
): ClusterLocation {
  const absolute = resolve(dataDir);
  const preferred = join(absolute, 'postgres');
  let fallbackReason: string | undefined;
  if (join(preferred, 'run', '.s.PGSQL.65535').length > MAX_SOCKET_PATH) {
    fallbackReason = `the socket path under ${preferred} would pass ${MAX_SOCKET_PATH} bytes`;
  } else if (!canReach(absolute)) {
    fallbackReason = `the PostgreSQL user cannot reach ${absolute}`;
  }
  if (fallbackReason === undefined) return { dir: preferred };
  const hash = createHash('sha256').update(absolute).digest('hex').slice(0, 16);
  return { dir: join(fallbackRoot, `lockkeys-postgres-${hash}`), fallbackReason };
}

/** The cluster's folders: `data/` (PGDATA) and `run/` (its unix socket, private instead of /var/run/postgresql). */
export function clusterPaths(dir: string) {
  return { dir, data: join(dir, 'data'), run: join(dir, 'run'), owner: join(dir, 'lockkeys-owner.pid') };
}

/** Creates the cluster's folders, private to the PostgreSQL user. */
export function prepareClusterDir(dir: string, runAs: RunAs | undefined): void {
  const paths = clusterPaths(dir);
  for (const folder of [paths.dir, paths.run]) {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    if (runAs) chownSync(folder, runAs.uid, runAs.gid);
  }
}

const readPid = (file: string): number | undefined => {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n', 1)[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
};

/** On Linux, whether `pid` is a postgres process (a stale pid file may name a recycled pid); elsewhere assume so. */
const isPostgresProcess = (pid: number): boolean => {
  const comm = `/proc/${pid}/comm`;
  if (!existsSync('/proc/self/comm')) return true;
  try {
    return readFileSync(comm, 'utf8').trim() === 'postgres';
  } catch {
    return false;
  }
};

/**
 * Makes the cluster ours for this run: refuses one that a live stack uses, stops a PostgreSQL an earlier run left
 * behind (killed without a chance to stop it), and records our pid. Returns the function that releases it.
 */
export function claimCluster(
  dir: string,
  binaries: PostgresBinaries,
  runAs: RunAs | undefined,
  log: (line: string) => void,
): () => void {
  const paths = clusterPaths(dir);
  const owner = readPid(paths.owner);
  if (owner !== undefined && owner !== process.pid && processAlive(owner)) {
    throw new PostgresClusterError(
      `the PostgreSQL cluster in ${dir} belongs to a running stack (process ${owner}); stop that one first, ` +
        'or give this one another data dir (LOCKKEYS_DATA_DIR)',
    );
  }
  const postmaster = readPid(join(paths.data, 'postmaster.pid'));
  if (postmaster !== undefined && processAlive(postmaster) && isPostgresProcess(postmaster)) {
    log(`stopping the PostgreSQL (pid ${postmaster}) an earlier run left on ${paths.data}`);
    spawnSync(binaries.pgCtl, ['stop', '-D', paths.data, '-m', 'fast', '-w', '-t', '60'], {
      ...asUser(runAs, dir),
      stdio: 'ignore',
    });
  }
  writeFileSync(paths.owner, `${process.pid}\n`);
  return () => {
    if (readPid(paths.owner) === process.pid) rmSync(paths.owner, { force: true });
  };
}

/** Spawn options that run a PostgreSQL program as `runAs`, from a folder it can read, with a plain locale. */
function asUser(runAs: RunAs | undefined, cwd: string) {
  return {
    cwd,
    env: {
      PATH: inheritedEnv().PATH,
      LC_ALL: 'C',
      ...(runAs ? { HOME: cwd, USER: runAs.user } : { HOME: inheritedEnv().HOME }),
    },
    ...(runAs && { uid: runAs.uid, gid: runAs.gid }),
  };
}

/**
 * Runs initdb once: a cluster whose `PG_VERSION` exists is kept as it is (then true is not returned). Its superuser
 * is `temporal`; authentication is `trust`, which initdb writes for the local socket and 127.0.0.1/::1 only, and
 * the server listens on 127.0.0.1 alone, so nothing off this machine can connect.
 */
export function initCluster(dir: string, binaries: PostgresBinaries, runAs: RunAs | undefined): boolean {
  const paths = clusterPaths(dir);
  const versionFile = join(paths.data, 'PG_VERSION');
  if (existsSync(versionFile)) {
    const major = Number(readFileSync(versionFile, 'utf8').trim());
    if (major !== binaries.major) {
      throw new PostgresClusterError(
        `the cluster in ${paths.data} was made by PostgreSQL ${major}, but ${binaries.binDir} is PostgreSQL ` +
          `${binaries.major}: set POSTGRES_BIN_DIR to a PostgreSQL ${major} install, or delete ${dir} to start afresh`,
      );
    }
    return false;
  }
  // What an interrupted initdb left behind holds no data yet; initdb refuses a non-empty folder.
  rmSync(paths.data, { recursive: true, force: true });
  const result = spawnSync(
    binaries.initdb,
    ['-D', paths.data, '-U', POSTGRES_USER, '--auth=trust', '--encoding=UTF8', '--locale=C'],
    { ...asUser(runAs, dir), encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new PostgresClusterError(
      `initdb failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stderr ?? ''}${result.stdout ?? ''}`,
    );
  }
  return true;
}

/** The postmaster as a supervised service: ready when it says so, stopped with SIGINT (what `pg_ctl stop -m fast` sends). */
export function postgresServiceSpec(
  dir: string,
  binaries: PostgresBinaries,
  runAs: RunAs | undefined,
  port: number,
): ServiceSpec {
  const paths = clusterPaths(dir);
  return {
    name: 'postgres',
    command: binaries.postgres,
    args: [
      '-D', paths.data,
      '-p', String(port),
      '-k', paths.run,
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_permissions=0700',
      // Four server processes hold up to 30 connections each.
      '-c', 'max_connections=200',
      // Temporal inserts and lets unique violations tell it a row exists: keep those client errors out of the log.
      '-c', 'log_min_messages=log',
      '-c', 'log_min_error_statement=panic',
    ], // prettier-ignore
    ...asUser(runAs, dir),
    readyLine: /database system is ready to accept connections/,
    readyTimeoutMs: 60_000,
    stopSignal: 'SIGINT',
    stopTimeoutMs: 60_000,
    restart: 'unless-stopped',
  };
}
