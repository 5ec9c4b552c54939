// The production engine for real: PostgreSQL, four Temporal server processes and the Web UI, on free ports in a
// temp dir. Slow (builds the server binaries once when they are not cached; ~30 s after that), part of `npm test`.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTemporalCli } from '../temporal-cli';
import { ensurePostgresBinaries, ensureTemporalServerBinaries } from './binaries';
import { clusterPaths } from './cluster';
import { processAlive as alive } from '../service';
import { ENGINE_SERVICE_ORDER, startPostgresEngine, type PostgresEngine } from './engine';
import { freeEnginePorts, type PostgresEnginePorts } from './ports';

jest.setTimeout(180_000);

/** PostgreSQL is a system package: CI has it (and must run this); elsewhere its absence skips the suite, loudly. */
const postgresMissing = (() => {
  try {
    ensurePostgresBinaries();
    return undefined;
  } catch (error) {
    if (process.env.CI) throw error;
    return (error as Error).message;
  }
})();
if (postgresMissing) console.warn(`postgres engine tests SKIPPED:\n${postgresMissing}`);
const describeEngine = postgresMissing ? describe.skip : describe;

const temporalCli = ensureTemporalCli();
const cleanup: string[] = [];
afterAll(() => cleanup.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** `temporal <args>` against the engine; resolves with exit code and output (never blocks the event loop). */
function cli(address: string, ...args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(temporalCli, [...args, '--address', address], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('close', (code) => resolve({ code, output }));
  });
}

const until = async (what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

/** Every pid of the engine: the services', and the postmaster's from its own pid file. */
function enginePids(engine: PostgresEngine): Record<string, number> {
  const postmaster = Number(
    readFileSync(join(clusterPaths(engine.postgresDir).data, 'postmaster.pid'), 'utf8').split('\n')[0],
  );
  return {
    ...Object.fromEntries(ENGINE_SERVICE_ORDER.map((name) => [name, engine.services[name].pid])),
    postmaster,
  };
}

describeEngine('startPostgresEngine', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lockkeys-engine-'));
  cleanup.push(dataDir);
  const lines: string[] = [];
  const print = (name: string, line: string) => lines.push(`[${name}] ${line}`);
  let ports: PostgresEnginePorts;
  let engine: PostgresEngine | undefined;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    // Outside the timed start: a cold cache builds the binaries here (minutes), once.
    ensureTemporalServerBinaries();
    ports = await freeEnginePorts();
    const started = Date.now();
    engine = await startPostgresEngine({ dataDir, ports, print });
    timings.firstStart = Date.now() - started;
    cleanup.push(engine.postgresDir);
  }, 900_000);

  afterAll(async () => {
    await engine?.stop();
    console.log(`postgres engine timings (ms): ${JSON.stringify(timings)}`);
  });

  test('serves: cluster health, namespace default with 7 days of retention, LockId (Int) and OrgId (Keyword)', async () => {
    const address = engine?.temporalAddress ?? '';
    expect(await cli(address, 'operator', 'cluster', 'health')).toMatchObject({
      code: 0,
      output: expect.stringContaining('SERVING'),
    });
    const namespace = await cli(address, 'operator', 'namespace', 'describe', '--namespace', 'default', '-o', 'json');
    expect(namespace.code).toBe(0);
    expect(JSON.parse(namespace.output)).toMatchObject({ config: { workflowExecutionRetentionTtl: '604800s' } });
    const attributes = await cli(address, 'operator', 'search-attribute', 'list', '--namespace', 'default');
    expect(attributes.output).toMatch(/^\s*LockId\s+Int\s*$/m);
    expect(attributes.output).toMatch(/^\s*OrgId\s+Keyword\s*$/m);
    expect(lines).toContain(
      "[temporal-namespace] register-search-attributes: creating namespace 'default' (retention 168h)",
    );
  });

  test('runs four server processes, one per service, plus the postmaster and the Web UI', async () => {
    const pids = enginePids(engine as PostgresEngine);
    // PostgreSQL runs as our own child (no runuser or pg_ctl in between): its pid is the postmaster's.
    expect(pids.postmaster).toBe(pids.postgres);
    expect(new Set(Object.values(pids)).size).toBe(6);
    for (const service of ['frontend', 'history', 'matching', 'worker']) {
      const pid = pids[`temporal-${service}`] ?? -1;
      expect(alive(pid)).toBe(true);
      if (existsSync('/proc/self/cmdline')) {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
        expect(argv.slice(-3)).toEqual(['start', '--service', service]);
      }
    }
    expect(alive(pids.postmaster ?? -1)).toBe(true);
    const ui = await fetch(`${engine?.webUiUrl}/api/v1/namespaces`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('"name": "default"');
  });

  test('a server process killed with SIGKILL is started again, and the cluster keeps serving', async () => {
    const history = (engine as PostgresEngine).services['temporal-history'];
    const before = history.pid;
    process.kill(before, 'SIGKILL');
    await until('history restarted', () => history.restarts === 1 && alive(history.pid));
    expect(history.pid).not.toBe(before);
    expect(lines).toContain('[lockkeys] temporal-history exited (signal SIGKILL); restarting');
    // A workflow start needs history: it works again once the new process owns the shards.
    const address = engine?.temporalAddress ?? '';
    await until('a workflow can start', async () => {
      const start = await cli(
        address,
        'workflow',
        'start',
        '--type',
        'Kept',
        '--task-queue',
        'nobody',
        '--workflow-id',
        'kept-across-restarts',
      );
      return start.code === 0 || start.output.includes('already');
    });
  });

  test('stop leaves no process; a second start on the same data dir finds the namespace and the workflow', async () => {
    const first = engine as PostgresEngine;
    const pids = enginePids(first);
    const stopStarted = Date.now();
    await first.stop();
    timings.stop = Date.now() - stopStarted;
    for (const [name, pid] of Object.entries(pids)) expect({ name, alive: alive(pid) }).toEqual({ name, alive: false });
    expect(existsSync(join(clusterPaths(first.postgresDir).data, 'postmaster.pid'))).toBe(false);

    lines.length = 0;
    const started = Date.now();
    engine = await startPostgresEngine({ dataDir, ports, print });
    timings.secondStart = Date.now() - started;
    expect(engine.postgresDir).toBe(first.postgresDir);
    expect(lines.some((line) => line.includes('created a PostgreSQL'))).toBe(false);
    expect(lines.some((line) => line.includes('creating namespace'))).toBe(false);
    expect(lines).toContain(
      "[temporal-namespace] register-search-attributes: OrgId (Keyword) is already registered in 'default'; nothing to do",
    );
    const kept = await cli(engine.temporalAddress, 'workflow', 'describe', '--workflow-id', 'kept-across-restarts');
    expect(kept.code).toBe(0);

    const second = enginePids(engine);
    await engine.stop();
    engine = undefined;
    for (const [name, pid] of Object.entries(second))
      expect({ name, alive: alive(pid) }).toEqual({ name, alive: false });
  });

  test('a start that fails half-way stops what it started, PostgreSQL included', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'lockkeys-broken-'));
    cleanup.push(bin);
    const broken = join(bin, 'temporal-server');
    writeFileSync(broken, '#!/bin/sh\necho "broken server: $*" >&2\nexit 3\n');
    chmodSync(broken, 0o755);
    const failedLines: string[] = [];
    const error = await startPostgresEngine({
      dataDir,
      ports,
      print: (name, line) => failedLines.push(`[${name}] ${line}`),
      env: { ...process.env, TEMPORAL_SERVER_BIN: broken },
    }).then(
      async (started) => started.stop(),
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/^temporal-history exited with code 3 before it was ready:\nbroken server: --root/);
    const postmaster = failedLines
      .map((line) => /\[postgres\] .*\[(\d+)\] LOG: {2}database system is ready/.exec(line)?.[1])
      .find(Boolean);
    expect(postmaster).toBeDefined();
    expect(alive(Number(postmaster))).toBe(false);
    expect(failedLines.some((line) => line.includes('database system is shut down'))).toBe(true);
  });
});
