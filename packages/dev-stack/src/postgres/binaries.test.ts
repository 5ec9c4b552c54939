import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EngineBinariesUnavailableError,
  cachedServerBinaryPaths,
  ensurePostgresBinaries,
  ensureTemporalServerBinaries,
  findTemporalServerBinaries,
} from './binaries';

const scratchDirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'lockkeys-binaries-'));
  scratchDirs.push(dir);
  return dir;
};
afterAll(() => scratchDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function script(dir: string, name: string, body: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A folder with fake initdb, pg_ctl and postgres; `postgres --version` names `major`. */
function fakePostgres(dir: string, major: number, programs = ['initdb', 'pg_ctl', 'postgres']): string {
  for (const program of programs) {
    script(dir, program, program === 'postgres' ? `echo "postgres (PostgreSQL) ${major}.4"` : 'exit 0');
  }
  return dir;
}

const errorOf = (action: () => unknown): Error => {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
};

describe('Temporal server binaries', () => {
  test('the cache is keyed by version, outside the checkout, and honours XDG_CACHE_HOME', () => {
    const dir = scratch();
    expect(cachedServerBinaryPaths({ XDG_CACHE_HOME: dir })).toEqual({
      server: join(dir, 'lockkeys', 'temporal-server', 'v1.29.1', 'temporal-server'),
      sqlTool: join(dir, 'lockkeys', 'temporal-server', 'v1.29.1', 'temporal-sql-tool'),
      uiServer: join(dir, 'lockkeys', 'temporal-ui-server', 'v2.42.1', 'temporal-ui-server'),
    });
  });

  test('a binary named by its environment variable wins over the cache', () => {
    const dir = scratch();
    const cached = cachedServerBinaryPaths({ XDG_CACHE_HOME: dir });
    for (const path of Object.values(cached)) script(join(path, '..'), path.split('/').pop() ?? '', 'exit 0');
    const mine = script(join(dir, 'mine'), 'my-server', 'exit 0');
    expect(findTemporalServerBinaries({ XDG_CACHE_HOME: dir, TEMPORAL_SERVER_BIN: mine })).toEqual({
      ...cached,
      server: mine,
    });
  });

  test('an environment variable naming no executable is a clear error', () => {
    const error = errorOf(() => findTemporalServerBinaries({ TEMPORAL_UI_SERVER_BIN: '/nonexistent/ui' }));
    expect(error).toBeInstanceOf(EngineBinariesUnavailableError);
    expect(error.message).toBe('TEMPORAL_UI_SERVER_BIN=/nonexistent/ui is not an executable file.');
  });

  test('nothing cached and no Go: a message naming Go, the go install commands and the variables', () => {
    const error = errorOf(() => ensureTemporalServerBinaries({ PATH: '/nowhere', XDG_CACHE_HOME: scratch() }));
    expect(error).toBeInstanceOf(EngineBinariesUnavailableError);
    expect(error.message).toMatch(/install Go \(https:\/\/go\.dev\/dl\/\)/);
    expect(error.message).toContain('go install go.temporal.io/server/cmd/server@v1.29.1');
    expect(error.message).toContain('go install go.temporal.io/server/cmd/tools/sql@v1.29.1');
    expect(error.message).toContain('go install github.com/temporalio/ui-server/v2/cmd/server@v2.42.1');
    expect(error.message).toMatch(/TEMPORAL_SERVER_BIN, TEMPORAL_SQL_TOOL_BIN, TEMPORAL_UI_SERVER_BIN/);
    expect(error.message).toContain('docker compose up');
  });

  test('builds only what is missing, one go install per module, staged and renamed into the cache', () => {
    const dir = scratch();
    const calls = join(dir, 'go-calls');
    // A stand-in for Go: records its arguments and "installs" each package as the binary go would name it.
    script(
      join(dir, 'bin'),
      'go',
      [
        '[ "$1" = version ] && exit 0',
        `echo "$@ GOBIN=$GOBIN" >> ${calls}`,
        'shift',
        'for package in "$@"; do name="${package%@*}"; name="${name##*/}"; echo built > "$GOBIN/$name"; chmod +x "$GOBIN/$name"; done',
      ].join('\n'),
    );
    const env = { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, XDG_CACHE_HOME: dir };
    const ui = cachedServerBinaryPaths(env).uiServer;
    script(join(ui, '..'), 'temporal-ui-server', 'exit 0');

    const lines: string[] = [];
    const binaries = ensureTemporalServerBinaries(env, (line) => lines.push(line));
    expect(binaries).toEqual(cachedServerBinaryPaths(env));
    expect(readFileSync(binaries.server, 'utf8')).toBe('built\n');
    expect(readFileSync(binaries.sqlTool, 'utf8')).toBe('built\n');
    const invocations = readFileSync(calls, 'utf8').trim().split('\n');
    expect(invocations).toHaveLength(1);
    expect(invocations[0]).toMatch(
      /^install go\.temporal\.io\/server\/cmd\/server@v1\.29\.1 go\.temporal\.io\/server\/cmd\/tools\/sql@v1\.29\.1 GOBIN=.*\.build-\d+$/,
    );
    expect(existsSync(invocations[0]?.split('GOBIN=')[1] ?? '/')).toBe(false);
    expect(lines[0]).toBe('[lockkeys] building temporal-server and temporal-sql-tool v1.29.1 with Go (once)...');
    // Once built, nothing is built again.
    ensureTemporalServerBinaries(env, (line) => lines.push(line));
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toHaveLength(1);
  });
});

describe('PostgreSQL binaries', () => {
  test('POSTGRES_BIN_DIR wins, with its major version', () => {
    const dir = fakePostgres(join(scratch(), 'pg'), 16);
    expect(ensurePostgresBinaries({ POSTGRES_BIN_DIR: dir }, [])).toEqual({
      binDir: dir,
      initdb: join(dir, 'initdb'),
      pgCtl: join(dir, 'pg_ctl'),
      postgres: join(dir, 'postgres'),
      major: 16,
    });
  });

  test('a POSTGRES_BIN_DIR without pg_ctl, or too old, says so', () => {
    const incomplete = fakePostgres(join(scratch(), 'pg'), 15, ['initdb', 'postgres']);
    expect(errorOf(() => ensurePostgresBinaries({ POSTGRES_BIN_DIR: incomplete }, [])).message).toMatch(
      /^POSTGRES_BIN_DIR: .* has no pg_ctl\./,
    );
    const old = fakePostgres(join(scratch(), 'pg'), 11);
    expect(errorOf(() => ensurePostgresBinaries({ POSTGRES_BIN_DIR: old }, [])).message).toMatch(
      /is PostgreSQL 11, older than 12/,
    );
  });

  test('the first usable candidate folder is taken; folders without initdb are passed over', () => {
    const root = scratch();
    const usable = fakePostgres(join(root, '15'), 15);
    expect(ensurePostgresBinaries({}, [join(root, 'empty'), fakePostgres(join(root, '9'), 9), usable]).binDir).toBe(
      usable,
    );
  });

  test('no PostgreSQL anywhere: a message naming apt-get, Homebrew and POSTGRES_BIN_DIR', () => {
    const error = errorOf(() => ensurePostgresBinaries({}, [scratch()]));
    expect(error).toBeInstanceOf(EngineBinariesUnavailableError);
    expect(error.message).toContain('apt-get install postgresql');
    expect(error.message).toContain('brew install postgresql@16');
    expect(error.message).toContain('set POSTGRES_BIN_DIR to the folder that holds initdb, pg_ctl and postgres');
  });

  test('this machine type finds Debian’s /usr/lib/postgresql/<version>/bin off PATH', () => {
    if (!existsSync('/usr/lib/postgresql')) return;
    expect(ensurePostgresBinaries({ PATH: '/usr/bin:/bin' }).binDir).toMatch(/^\/usr\/lib\/postgresql\/\d+\/bin$/);
  });
});
