import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { portIsFree, type StackPorts } from '@lockkeys/dev-stack';
import { eventually, freeStackPorts, journalGaps, ROOT_DIR, scratchDir, SimulatorClient } from '@lockkeys/testing';
import { Client, Connection } from '@temporalio/client';

/**
 * `npm run dev` as a user meets it: the supervisor starts the stack, prints a curl; pasting it works;
 * SIGTERM stops everything; a second start finds the earlier run in Temporal.
 */
interface DevProcess {
  child: ChildProcess;
  output: string[];
  banner: Promise<string[]>;
}

function startDev(ports: StackPorts, dataDir: string): DevProcess {
  const child = spawn(process.execPath, [join(ROOT_DIR, 'packages/dev-stack/dist/cli.js'), 'dev'], {
    env: {
      ...process.env,
      PORT: String(ports.gateway),
      LOCK_SIM_PORT: String(ports.simulator),
      TEMPORAL_PORT: String(ports.temporal),
      TEMPORAL_UI_PORT: String(ports.temporalUi),
      WORKER_HEALTH_PORT: String(ports.workerHealth),
      WORKER_METRICS_PORT: String(ports.workerMetrics),
      LOCKKEYS_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const banner = new Promise<string[]>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`npm run dev exited (${code}):\n${output.slice(-30).join('\n')}`)));
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        if (line === 'Ctrl-C stops everything.') resolve(output.slice(output.indexOf('lockkeys is up:')));
      });
    }
  });
  return { child, output, banner };
}

async function stopDev(dev: DevProcess): Promise<number | null> {
  if (dev.child.exitCode !== null) return dev.child.exitCode;
  const exited = new Promise<number | null>((resolve) => dev.child.once('exit', resolve));
  dev.child.kill('SIGTERM');
  return exited;
}

/** The printed curl, as one shell command (its lines end with `\`). */
function printedCurl(banner: string[]): string {
  const start = banner.findIndex((line) => line.startsWith('curl -i -X POST'));
  const lines: string[] = [];
  for (const line of banner.slice(start)) {
    lines.push(line);
    if (!line.endsWith('\\')) break;
  }
  return lines.join('\n');
}

let ports: StackPorts;
let dataDir: string;
let first: DevProcess | undefined;
let second: DevProcess | undefined;
let firstRun: string;

beforeAll(async () => {
  ports = await freeStackPorts();
  dataDir = scratchDir('dev');
});

afterAll(async () => {
  for (const dev of [first, second]) if (dev) await stopDev(dev);
  rmSync(dataDir, { recursive: true, force: true });
});

test('npm run dev prints a curl that adds 3 keys to lock 123, at least 1 s apart', async () => {
  first = startDev(ports, dataDir);
  const banner = await first.banner;
  expect(banner.join('\n')).toContain(`http://127.0.0.1:${ports.temporalUi}/namespaces/default/workflows`);
  // Where the Temporal CLI is, and a line that puts it on PATH in another shell.
  const exportLine = banner.find((line) => line.startsWith('export PATH='));
  const cliDir = /^export PATH="(.+)":"\$PATH"$/.exec(exportLine ?? '')?.[1];
  expect(cliDir).toBeDefined();
  expect(() => accessSync(join(cliDir!, 'temporal'), constants.X_OK)).not.toThrow();
  const onPath = spawnSync('sh', ['-c', `${exportLine} && temporal --version`], {
    encoding: 'utf8',
    env: { ...process.env, PATH: '/usr/bin:/bin' },
  });
  expect(onPath.stdout).toMatch(/^temporal version/);

  const curl = spawnSync('bash', ['-c', printedCurl(banner)], { encoding: 'utf8' });
  expect(curl.status).toBe(0);
  expect(curl.stdout).toMatch(/^HTTP\/1\.1 202/);
  const location = /^location: (.*)$/im.exec(curl.stdout)?.[1]?.trim();
  const body = JSON.parse(curl.stdout.slice(curl.stdout.indexOf('{'))) as Record<string, unknown>;
  expect(body).toEqual({ success: true, lockId: 123, instanceId: expect.stringMatching(/^[A-Za-z0-9._-]+$/) });
  expect(location).toBe(`/locks/123/BulkAddKeys/${body.instanceId as string}`);

  const simulator = new SimulatorClient(`http://127.0.0.1:${ports.simulator}`);
  const added = await eventually(
    async () => {
      const held = await simulator.slots(123);
      return held.length === 3 ? held : undefined;
    },
    15_000,
    'the simulator to hold 3 keys',
  );
  expect(added.map((k) => k.keyIndexNumber)).toEqual([1, 2, 3]);
  const commands = await simulator.journal(123);
  expect(commands.map((c) => c.status)).toEqual([201, 201, 201]);
  for (const gap of journalGaps(commands)) expect(gap).toBeGreaterThanOrEqual(1_000);
  firstRun = body.instanceId as string;
});

test('SIGTERM stops every process it started', async () => {
  expect(await stopDev(first!)).toBe(0);
  for (const port of Object.values(ports)) expect(await portIsFree(port)).toBe(true);
});

test('a second npm run dev starts cleanly and the earlier run is still in Temporal', async () => {
  second = startDev(ports, dataDir);
  await second.banner;
  const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
  try {
    const client = new Client({ connection });
    const description = await client.workflow.getHandle(firstRun).describe();
    expect(description.status.name).toBe('COMPLETED');
    const listed = [];
    for await (const run of client.workflow.list({ query: 'LockId = 123' })) listed.push(run.workflowId);
    expect(listed).toContain(firstRun);
  } finally {
    await connection.close();
  }
  expect(await stopDev(second)).toBe(0);
});
