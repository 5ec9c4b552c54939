import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ensureTemporalCli, freePort, type RunningService, startService, temporalServing } from '@lockkeys/dev-stack';
import { repoPath } from './repo';

// The script compose's temporal-namespace job and the postgres engine run, against a real Temporal dev server.
const SCRIPT = repoPath('temporal', 'register-search-attributes.sh');

const temporalCli = ensureTemporalCli();
const scratch = mkdtempSync(join(tmpdir(), 'lockkeys-register-'));
// The script calls `temporal` from PATH, as in the admin-tools image.
const binDir = join(scratch, 'bin');
mkdirSync(binDir);
symlinkSync(temporalCli, join(binDir, 'temporal'));

interface ScriptRun {
  code: number | null;
  output: string;
}

/** Runs the script with POSIX sh (dash here, busybox ash in the image) and the given environment. */
function runScript(env: Record<string, string>): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [SCRIPT], {
      env: { PATH: `${binDir}${delimiter}${process.env.PATH ?? ''}`, HOME: scratch, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

function searchAttributes(address: string, namespace: string): string {
  return spawnSync(
    temporalCli,
    ['operator', 'search-attribute', 'list', '--address', address, '--namespace', namespace],
    {
      encoding: 'utf8',
    },
  ).stdout;
}

let server: RunningService | undefined;
let address = '';
let firstRun: Promise<ScriptRun> | undefined;

beforeAll(async () => {
  const port = await freePort();
  address = `127.0.0.1:${port}`;
  // Started before the server exists: in compose the job may come up while Temporal still migrates its schema.
  firstRun = runScript({ TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default', REGISTER_RETRY_SECONDS: '1' });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  server = await startService(
    {
      name: 'temporal',
      command: temporalCli,
      args: [
        'server', 'start-dev', '--headless',
        '--ip', '127.0.0.1',
        '--port', String(port),
        '--http-port', String(await freePort()),
        '--metrics-port', String(await freePort()),
        // A second namespace where LockId already exists with the wrong type.
        '--namespace', 'wrong-type',
        '--log-level', 'error',
      ], // prettier-ignore
      env: process.env,
      ready: async () => temporalServing(temporalCli, address),
      readyTimeoutMs: 60_000,
    },
    () => undefined,
  );
  const create = spawnSync(
    temporalCli,
    [
      'operator',
      'search-attribute',
      'create',
      '--address',
      address,
      '--namespace',
      'wrong-type',
      '--name',
      'LockId',
      '--type',
      'Keyword',
    ],
    { encoding: 'utf8' },
  );
  if (create.status !== 0) throw new Error(`could not prepare namespace wrong-type: ${create.stderr}`);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('temporal/register-search-attributes.sh', () => {
  it('waits for a server that is not up yet, then registers LockId as Int and OrgId as Keyword', async () => {
    const run = await firstRun;
    expect(run).toMatchObject({ code: 0 });
    expect(run?.output).toContain("waiting for namespace 'default'");
    expect(run?.output).toContain("LockId (Int) registered in 'default'");
    expect(run?.output).toContain("OrgId (Keyword) registered in 'default'");
    expect(searchAttributes(address, 'default')).toMatch(/^\s*LockId\s+Int\s*$/m);
    expect(searchAttributes(address, 'default')).toMatch(/^\s*OrgId\s+Keyword\s*$/m);
  });

  it('creates a namespace that does not exist, with 7 days of retention, then registers both', async () => {
    const run = await runScript({
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: 'fresh',
      REGISTER_RETRY_SECONDS: '1',
    });
    expect(run).toMatchObject({ code: 0 });
    expect(run.output).toContain("creating namespace 'fresh' (retention 168h)");
    const described = spawnSync(
      temporalCli,
      ['operator', 'namespace', 'describe', '--address', address, '--namespace', 'fresh', '-o', 'json'],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(described.stdout)).toMatchObject({ config: { workflowExecutionRetentionTtl: '604800s' } });
    expect(searchAttributes(address, 'fresh')).toMatch(/^\s*OrgId\s+Keyword\s*$/m);
  });

  it('changes nothing when LockId is already registered (every `docker compose up` runs it again)', async () => {
    const run = await runScript({ TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default' });
    expect(run).toMatchObject({ code: 0 });
    expect(run.output).toContain("LockId (Int) is already registered in 'default'; nothing to do");
    expect(run.output).toContain("OrgId (Keyword) is already registered in 'default'; nothing to do");
    expect(run.output).not.toContain('registering');
    expect(run.output).not.toContain('creating namespace');
  });

  it('fails, naming both types, when LockId exists with another type', async () => {
    const run = await runScript({ TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'wrong-type' });
    expect(run.code).toBe(1);
    expect(run.output).toContain("LockId is registered in 'wrong-type' as Keyword, but lockkeys needs Int");
    expect(searchAttributes(address, 'wrong-type')).toMatch(/^\s*LockId\s+Keyword\s*$/m);
  });

  it('gives up with the server error after REGISTER_MAX_ATTEMPTS when nothing answers', async () => {
    const run = await runScript({
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
      REGISTER_MAX_ATTEMPTS: '2',
      REGISTER_RETRY_SECONDS: '0',
    });
    expect(run.code).toBe(1);
    expect(run.output).toContain('gave up after 2 attempts');
    expect(run.output).toMatch(/connection refused|failed reaching server/i);
  });
});
