import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTemporalServerBinaries } from './binaries';
import { DEFAULT_ENGINE_PORTS, freeEnginePorts, type PostgresEnginePorts } from './ports';
import {
  NAMESPACE_SCRIPT,
  SCHEMA_SCRIPT,
  SERVER_CONFIG,
  TEMPORAL_CONFIG_ROOT,
  TEMPORAL_SERVICES,
  UI_CONFIG,
  serverArgs,
  serverEnv,
} from './server-config';

test('the config root is the repository’s temporal/ folder, with every file the engine loads', () => {
  expect(TEMPORAL_CONFIG_ROOT).toMatch(/\/temporal$/);
  for (const file of [
    join(SERVER_CONFIG.dir, `${SERVER_CONFIG.env}.yaml`),
    join(UI_CONFIG.dir, `${UI_CONFIG.env}.yaml`),
    SCHEMA_SCRIPT,
    NAMESPACE_SCRIPT,
  ]) {
    expect(existsSync(join(TEMPORAL_CONFIG_ROOT, file))).toBe(true);
  }
  expect(existsSync(serverEnv('frontend', DEFAULT_ENGINE_PORTS).DYNAMIC_CONFIG_FILE_PATH ?? '')).toBe(true);
});

test('each process gets all ports, its own metrics port, loopback, and nothing of the caller’s Temporal variables', () => {
  const env = { PATH: '/bin', HOME: '/home/dev', BIND_ON_IP: '0.0.0.0', DB_PORT: '5432', PPROF_PORT: '7936' };
  const history = serverEnv('history', DEFAULT_ENGINE_PORTS, { env, logLevel: 'warn' });
  expect(history).toMatchObject({
    PATH: '/bin',
    BIND_ON_IP: '127.0.0.1',
    DB_PORT: '7432',
    HISTORY_GRPC_PORT: '7234',
    MATCHING_GRPC_PORT: '7235',
    WORKER_MEMBERSHIP_PORT: '6939',
    PROMETHEUS_PORT: '8001',
    LOG_LEVEL: 'warn',
  });
  expect(history).not.toHaveProperty('PPROF_PORT');
  const metrics = TEMPORAL_SERVICES.map((service) => serverEnv(service, DEFAULT_ENGINE_PORTS).PROMETHEUS_PORT);
  expect(new Set(metrics).size).toBe(4);
});

/** What `temporal-server render-config` makes of temporal/server/lockkeys.yaml for one process. */
function render(service: (typeof TEMPORAL_SERVICES)[number], ports: PostgresEnginePorts, server: string): string {
  // Unlike `start`, `render-config` ignores --root: the config dir is relative to the working directory.
  const result = spawnSync(server, [...serverArgs(service).slice(0, 6), 'render-config'], {
    env: serverEnv(service, ports),
    cwd: TEMPORAL_CONFIG_ROOT,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`render-config failed: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

describe('temporal/server/lockkeys.yaml as the server 1.29.1 renders it (a Go template over the environment)', () => {
  let server = '';
  beforeAll(() => {
    // Builds the server once (a few minutes) when it is not cached yet.
    server = ensureTemporalServerBinaries().server;
  }, 600_000);

  test.each(TEMPORAL_SERVICES)(
    '%s: ports, 4 shards, PostgreSQL, metrics and dynamic config of this stack',
    async (service) => {
      const ports = await freeEnginePorts();
      const rendered = render(service, ports, server);
      expect(rendered).toMatch(/^ {4}numHistoryShards: 4$/m);
      expect(rendered).toContain(`connectAddr: 127.0.0.1:${ports.postgres}`);
      expect(rendered).toMatch(/databaseName: temporal\n/);
      expect(rendered).toMatch(/databaseName: temporal_visibility\n/);
      expect(rendered).toContain(`listenAddress: 127.0.0.1:${ports[`${service}Metrics`]}`);
      expect(rendered).toContain(`filepath: ${join(TEMPORAL_CONFIG_ROOT, 'dynamicconfig', 'development-sql.yaml')}`);
      // One service's `rpc:` block of the `services:` section (archival has a `history:` of its own).
      const services = rendered.slice(rendered.indexOf('\nservices:\n'));
      const rpc = (name: string) => services.split(/\n {4}(?=\S)/).find((block) => block.startsWith(`${name}:\n`));
      expect(rpc('history')).toMatch(
        new RegExp(
          `bindOnIP: 127\\.0\\.0\\.1[\\s\\S]*grpcPort: ${ports.history}[\\s\\S]*membershipPort: ${ports.historyMembership}`,
        ),
      );
      expect(rpc('frontend')).toMatch(
        new RegExp(
          `grpcPort: ${ports.frontend}[\\s\\S]*httpPort: ${ports.frontendHttp}[\\s\\S]*membershipPort: ${ports.frontendMembership}`,
        ),
      );
      expect(rpc('worker')).toMatch(new RegExp(`membershipPort: ${ports.workerMembership}`));
      // pprof off: four processes on one host would fight over one port.
      expect(rendered).toMatch(/pprof:\n\s+host: ""\n\s+port: 0\n/);
    },
  );

  test('without DYNAMIC_CONFIG_FILE_PATH the server refuses to load it, naming the variable', () => {
    const result = spawnSync(server, [...serverArgs('history').slice(0, 6), 'render-config'], {
      env: { ...serverEnv('history', DEFAULT_ENGINE_PORTS), DYNAMIC_CONFIG_FILE_PATH: '' },
      cwd: TEMPORAL_CONFIG_ROOT,
      encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain('set DYNAMIC_CONFIG_FILE_PATH');
  });

  test('the dynamic config names only keys server 1.29.1 knows', () => {
    const file = serverEnv('frontend', DEFAULT_ENGINE_PORTS).DYNAMIC_CONFIG_FILE_PATH ?? '';
    const result = spawnSync(server, ['validate-dynamic-config', file], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/warning|error/i);
  });
});
