import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { ROOT_DIR, scratchDir } from '@lockkeys/testing';

/**
 * The operator commands as a new user meets them after `npm run dev` / `npm test`: through npm, on a machine
 * whose PATH has node and npm but neither pnpm (it lives in a private cache) nor the Temporal CLI.
 */
const isExecutable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};
const NOT_ON_PATH = ['pnpm', 'temporal'];
const holdsNone = (dir: string) => !NOT_ON_PATH.some((name) => isExecutable(join(dir, name)));

const scratch = scratchDir('operator');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The folder of this node and npm (or, should it hold pnpm too, links to just those two), then the system's. */
function bareNodePath(): string {
  let nodeDir = dirname(process.execPath);
  if (!holdsNone(nodeDir)) {
    nodeDir = join(scratch, 'bin');
    mkdirSync(nodeDir);
    symlinkSync(process.execPath, join(nodeDir, 'node'));
    symlinkSync(join(dirname(process.execPath), 'npm'), join(nodeDir, 'npm'));
  }
  const system = ['/usr/local/bin', '/usr/bin', '/bin'].filter(holdsNone);
  return [...new Set([nodeDir, ...system])].join(delimiter);
}

const PATH = bareNodePath();
// A login shell's worth of environment and nothing of this test run's (no npm_*, no TEMPORAL_CLI, no pnpm).
const env: NodeJS.ProcessEnv = {
  PATH,
  HOME: process.env.HOME,
  ...(process.env.XDG_CACHE_HOME !== undefined && { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME }),
  ...(process.env.TMPDIR !== undefined && { TMPDIR: process.env.TMPDIR }),
  npm_config_update_notifier: 'false',
};

/** `command` in sh with that environment, from the repository root. */
const sh = (command: string) =>
  spawnSync('sh', ['-c', command], { cwd: ROOT_DIR, env, encoding: 'utf8', timeout: 120_000 });

/** Exit code 0; on failure the assertion shows everything the command printed. */
const expectSuccess = (run: ReturnType<typeof sh>) =>
  expect({ status: run.status, output: `${run.stdout}${run.stderr}` }).toMatchObject({ status: 0 });

test('the PATH really has node and npm, and resolves neither pnpm nor temporal', () => {
  expect(sh('command -v node && command -v npm').status).toBe(0);
  for (const name of NOT_ON_PATH) {
    expect({ name, found: sh(`command -v ${name}`).stdout.trim() }).toEqual({ name, found: '' });
  }
});

test('npm run apikey -- create … prints a key once and the JSON entry that holds only its hash', () => {
  const run = sh('npm run apikey -- create --org acme --locks 123');
  expectSuccess(run);
  const key = /^ {2}(lk_\S+)$/m.exec(run.stdout)?.[1];
  const entryLine = run.stdout.split('\n').find((line) => line.trim().startsWith('{"id"'));
  expect(key).toBeDefined();
  expect(JSON.parse(entryLine!)).toEqual({
    id: expect.stringMatching(/^acme-/),
    sha256: createHash('sha256').update(key!).digest('hex'),
    orgId: 'acme',
    locks: [123],
  });
});

test('npm run replay -- <the recorded histories of packages/workflows/histories/lock-admission/dev> replays them, exits 0', () => {
  const current = 'packages/workflows/histories/lock-admission/dev';
  const histories = readdirSync(join(ROOT_DIR, current)).filter((f) => f.endsWith('.json'));
  expect(histories.length).toBeGreaterThan(0);
  const run = sh(`npm run replay -- ${histories.map((f) => `${current}/${f}`).join(' ')}`);
  expectSuccess(run);
  expect(run.stdout).toContain(`${histories.length} replayed, 0 diverged`);
  for (const file of histories) expect(run.stdout).toMatch(new RegExp(`^ok +${file.replace(/\./g, '\\.')}$`, 'm'));
});

test("npm run pnpm -- … is the project's pinned pnpm, for any workspace command", () => {
  const run = sh('npm run pnpm -- --version');
  expectSuccess(run);
  expect(run.stdout.trim().split('\n').at(-1)).toBe(
    (
      JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { packageManager: string }
    ).packageManager.replace('pnpm@', ''),
  );
});

test('npm run bench -- --help answers its usage and exits 0', () => {
  const run = sh('npm run bench -- --help');
  expectSuccess(run);
  expect(run.stdout).toContain('usage: npm run bench -- [fanout|overhead|starts|auth|webhooks|listing|storm|all ...]');
});
