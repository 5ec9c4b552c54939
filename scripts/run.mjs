#!/usr/bin/env node
// Entry point of the two commands (`npm run dev`, `npm test`) on a machine that may have only Node and Go:
// it fetches the pinned pnpm into a user cache, installs dependencies, builds, then hands over.
// Plain Node with no dependencies on purpose: it runs before anything is installed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager; // "pnpm@10.x.y"
const pnpmVersion = pinned.split('@')[1];
const cacheRoot = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');

function log(line) {
  process.stderr.write(`[lockkeys] ${line}\n`);
}

function run(cmd, args, env) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    log(`\`${cmd} ${args.join(' ')}\` failed with exit code ${result.status}`);
    process.exit(result.status ?? 1);
  }
}

/** The pinned pnpm: one already on PATH at that version, else a copy installed once into the user cache. */
function ensurePnpm() {
  const onPath = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim() === pnpmVersion) return process.env.PATH;
  const prefix = join(cacheRoot, 'lockkeys', `pnpm-${pnpmVersion}`);
  const bin = join(prefix, 'node_modules', '.bin');
  if (!existsSync(join(bin, 'pnpm'))) {
    log(`installing pnpm ${pnpmVersion} into ${prefix} (once)`);
    mkdirSync(prefix, { recursive: true });
    run('npm', ['install', '--no-audit', '--no-fund', '--prefix', prefix, `pnpm@${pnpmVersion}`], process.env);
  }
  return `${bin}:${process.env.PATH}`;
}

const [command, ...rest] = process.argv.slice(2);
const commands = {
  dev: [['node', ['packages/dev-stack/dist/cli.js', 'dev', ...rest]]],
  test: [
    ['node', ['packages/dev-stack/dist/cli.js', 'ensure-temporal']],
    // Builds the postgres engine's server binaries once, here rather than inside a Jest worker's time budget.
    ['node', ['packages/dev-stack/dist/cli.js', 'ensure-postgres-engine', '--server-only']],
    ['pnpm', ['-r', '--workspace-concurrency=1', 'test', ...rest]],
  ],
};
if (!commands[command]) {
  log(`usage: node scripts/run.mjs <${Object.keys(commands).join('|')}>`);
  process.exit(2);
}

const env = { ...process.env, PATH: ensurePnpm() };
run('pnpm', ['install', '--prefer-offline', ...(process.env.CI ? ['--frozen-lockfile'] : [])], env);
run('pnpm', ['-r', 'build'], env);

const steps = commands[command];
for (const [cmd, args] of steps.slice(0, -1)) run(cmd, args, env);
const [lastCmd, lastArgs] = steps[steps.length - 1];
// The last step runs as a child that receives our signals, so Ctrl-C / SIGTERM reach the whole stack.
const child = spawn(lastCmd, lastArgs, { cwd: root, stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 2 : 1)));
