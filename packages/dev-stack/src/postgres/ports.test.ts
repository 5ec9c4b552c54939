import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgresEngine } from './engine';
import {
  DEFAULT_ENGINE_PORTS,
  ENGINE_PORT_SETTINGS,
  MAX_MEMBERSHIP_PORT,
  PortInUseError,
  assertEnginePortsFree,
  enginePortsFromEnv,
  freeEnginePorts,
} from './ports';

const listening: Server[] = [];
afterEach(async () => {
  await Promise.all(listening.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** Something else listening on 127.0.0.1:`port`. */
function occupy(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    listening.push(server);
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

test('defaults are Temporal’s development ports and SPEC’s (frontend 7233, history 7234, matching 7235, worker 6939, UI 8233)', () => {
  expect(DEFAULT_ENGINE_PORTS).toMatchObject({
    frontend: 7233,
    history: 7234,
    matching: 7235,
    workerMembership: 6939,
    frontendMembership: 6933,
    historyMembership: 6934,
    matchingMembership: 6935,
    ui: 8233,
  });
  expect(enginePortsFromEnv({})).toEqual(DEFAULT_ENGINE_PORTS);
});

test('every port has its own variable; an empty one means unset; a bad one is named', () => {
  const variables = Object.values(ENGINE_PORT_SETTINGS).map((setting) => setting.env);
  expect(new Set(variables).size).toBe(variables.length);
  expect(enginePortsFromEnv({ LOCKKEYS_PG_PORT: '15432', TEMPORAL_HISTORY_PORT: '' })).toEqual({
    ...DEFAULT_ENGINE_PORTS,
    postgres: 15432,
  });
  expect(() => enginePortsFromEnv({ TEMPORAL_MATCHING_PORT: 'seven' })).toThrow(
    /^TEMPORAL_MATCHING_PORT must be a whole number from 1 to 65535 \(got "seven"\)$/,
  );
});

test('a taken port is one line naming it and the variable that moves it', async () => {
  const ports = await freeEnginePorts();
  await occupy(ports.history);
  const error = await assertEnginePortsFree(ports).catch((e: unknown) => e as Error);
  expect(error).toBeInstanceOf(PortInUseError);
  expect(error?.message).toBe(
    `history gRPC port ${ports.history} is already in use (another stack running? move with TEMPORAL_HISTORY_PORT)`,
  );
  expect(error?.message).not.toContain('\n');
});

test('a port given twice, and a membership port above the SMALLINT Temporal stores it in, are refused too', async () => {
  const ports = await freeEnginePorts();
  const error = await assertEnginePortsFree({ ...ports, matching: ports.history, workerMembership: 40000 }).catch(
    (e: unknown) => e as Error,
  );
  expect(error?.message).toContain(`Temporal worker membership port 40000 is above ${MAX_MEMBERSHIP_PORT}`);
  expect(error?.message).toContain(`port ${ports.history} is given twice (history gRPC port, matching gRPC port)`);
  expect(error?.message).toMatch(
    /move with TEMPORAL_WORKER_MEMBERSHIP_PORT, TEMPORAL_HISTORY_PORT, TEMPORAL_MATCHING_PORT\)$/,
  );
});

test('freeEnginePorts gives distinct free ports, membership ports below 32768', async () => {
  const ports = await freeEnginePorts();
  const values = Object.values(ports);
  expect(new Set(values).size).toBe(values.length);
  for (const key of ['frontendMembership', 'historyMembership', 'matchingMembership', 'workerMembership'] as const) {
    expect(ports[key]).toBeLessThanOrEqual(MAX_MEMBERSHIP_PORT);
  }
  await expect(assertEnginePortsFree(ports)).resolves.toBeUndefined();
});

test('startPostgresEngine with a taken port fails before anything starts (not even the data dir is made)', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'lockkeys-ports-'));
  const dataDir = join(parent, 'data');
  const ports = await freeEnginePorts();
  await occupy(ports.postgres);
  await expect(startPostgresEngine({ dataDir, ports, print: () => undefined })).rejects.toThrow(
    `PostgreSQL port ${ports.postgres} is already in use`,
  );
  expect(existsSync(dataDir)).toBe(false);
  rmSync(parent, { recursive: true, force: true });
});
