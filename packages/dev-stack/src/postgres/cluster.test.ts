import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresClusterError, clusterLocation, initCluster, postgresRunAs, reachableBy } from './cluster';

const scratchDirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'lockkeys-cluster-'));
  scratchDirs.push(dir);
  return dir;
};
afterAll(() => scratchDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('where the cluster lives', () => {
  test('in <dataDir>/postgres when the PostgreSQL user can reach the data dir', () => {
    expect(clusterLocation('/work/checkout/.data', () => true, '/var/tmp')).toEqual({
      dir: '/work/checkout/.data/postgres',
    });
  });

  test('otherwise under the fallback root, named from a hash of the data dir, and the reason is given', () => {
    const seen: string[] = [];
    const location = clusterLocation(
      '/root/checkout/.data',
      (dir) => {
        seen.push(dir);
        return false;
      },
      '/var/tmp',
    );
    expect(seen).toEqual(['/root/checkout/.data']);
    expect(location.dir).toMatch(/^\/var\/tmp\/lockkeys-postgres-[0-9a-f]{16}$/);
    expect(location.fallbackReason).toBe('the PostgreSQL user cannot reach /root/checkout/.data');
    // The same checkout finds the same cluster again; another checkout gets its own.
    expect(clusterLocation('/root/checkout/.data/', () => false, '/var/tmp').dir).toBe(location.dir);
    expect(clusterLocation('/root/other/.data', () => false, '/var/tmp').dir).not.toBe(location.dir);
  });

  test('a data dir so deep that its socket path would be too long falls back too', () => {
    const deep = `/work/${'nested/'.repeat(12)}.data`;
    const location = clusterLocation(deep, () => true, '/var/tmp');
    expect(location.dir).toMatch(/^\/var\/tmp\/lockkeys-postgres-/);
    expect(location.fallbackReason).toMatch(/socket path .* would pass 100 bytes/);
  });

  test('relative data dirs are resolved first, so the hash names one place', () => {
    expect(clusterLocation('.data', () => false, '/var/tmp').dir).toBe(
      clusterLocation(join(process.cwd(), '.data'), () => false, '/var/tmp').dir,
    );
  });
});

describe('reachableBy (as root, for the postgres user; CI runs as root)', () => {
  const runAs = process.getuid?.() === 0 ? postgresRunAs() : undefined;
  const asRoot = runAs ? test : test.skip;

  asRoot('a 700 folder of root is not reachable, a 755 one is, and so is everything below it', () => {
    const closed = scratch();
    chmodSync(closed, 0o700);
    mkdirSync(join(closed, 'inner'));
    expect(reachableBy(closed, runAs)).toBe(false);
    expect(reachableBy(join(closed, 'inner'), runAs)).toBe(false);
    chmodSync(closed, 0o755);
    expect(reachableBy(join(closed, 'inner'), runAs)).toBe(true);
  });

  test('as an ordinary user PostgreSQL runs as ourselves: everything we made is reachable', () => {
    expect(reachableBy('/anything', undefined)).toBe(true);
  });
});

test('a cluster made by another PostgreSQL major version is refused with both versions and a way out', () => {
  const dir = scratch();
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'PG_VERSION'), '14\n');
  const binaries = { binDir: '/usr/lib/postgresql/15/bin', initdb: '', pgCtl: '', postgres: '', major: 15 };
  expect(() => initCluster(dir, binaries, undefined)).toThrow(PostgresClusterError);
  expect(() => initCluster(dir, binaries, undefined)).toThrow(
    `the cluster in ${join(dir, 'data')} was made by PostgreSQL 14, but /usr/lib/postgresql/15/bin is PostgreSQL 15: ` +
      `set POSTGRES_BIN_DIR to a PostgreSQL 14 install, or delete ${dir} to start afresh`,
  );
});
