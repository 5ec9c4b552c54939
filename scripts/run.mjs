#!/usr/bin/env node
// Entry point of the root package's commands (`npm run dev`, `npm test`, `npm run replay -- …`, `npm run apikey -- …`,
// `npm run bench -- …`) on a machine that may have only Node and Go: it finds the pinned pnpm (on PATH, else
// fetched once into a user cache), installs and builds what is missing, then hands over.
// Plain Node with no dependencies on purpose: it runs before anything is installed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { constants, homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager; // "pnpm@10.x.y"
const pnpmVersion = pinned.split('@')[1];
const cacheRoot = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');

function log(line) {
  process.stderr.write(`[lockkeys] ${line}\n`);
}

/** Runs a step to its end; a failure ends this process with the step's exit code. */
function run(cmd, args, env, stdio = 'inherit') {
  const result = spawnSync(cmd, args, { cwd: root, stdio, env });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    log(`\`${cmd} ${args.join(' ')}\` failed with exit code ${result.status}`);
    process.exit(result.status ?? 1);
  }
}

/** The pinned pnpm: one already on PATH at that version, else a copy installed once into the user cache. */
function pnpmPath() {
  const onPath = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim() === pnpmVersion) return process.env.PATH;
  const prefix = join(cacheRoot, 'lockkeys', `pnpm-${pnpmVersion}`);
  const bin = join(prefix, 'node_modules', '.bin');
  if (!existsSync(join(bin, 'pnpm'))) {
    log(`installing pnpm ${pnpmVersion} into ${prefix} (once)`);
    mkdirSync(prefix, { recursive: true });
    run('npm', ['install', '--no-audit', '--no-fund', '--prefix', prefix, `pnpm@${pnpmVersion}`], process.env, QUIET);
  }
  return `${bin}:${process.env.PATH}`;
}

let pnpmEnv;
/** The environment with the pinned pnpm on PATH; looked for (and fetched) only when a step needs pnpm. */
const withPnpm = () => (pnpmEnv ??= { ...process.env, PATH: pnpmPath() });

// Preparation steps print to stderr: an operator command's stdout is its own (`npm run --silent apikey … > key`).
const QUIET = ['inherit', process.stderr, 'inherit'];

const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : undefined);

/** Newest modification time of the files under `dir` (0 when it does not exist). */
function newestUnder(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Every workspace package, by name: its folder and manifest (pnpm-workspace.yaml: `apps/*`, `packages/*`, …). */
function workspacePackages() {
  const patterns = [
    ...readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8').matchAll(/^\s+-\s+'?([^'\n]+?)'?\s*$/gm),
  ];
  const dirs = patterns.flatMap(([, pattern]) =>
    pattern.endsWith('/*')
      ? readdirSync(join(root, pattern.slice(0, -2)), { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => join(pattern.slice(0, -2), entry.name))
      : [pattern],
  );
  const packages = new Map();
  for (const dir of dirs) {
    const manifestPath = join(root, dir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    packages.set(manifest.name, { dir: join(root, dir), manifest });
  }
  return packages;
}

/** `names` and the workspace packages they depend on, transitively. */
function withDependencies(packages, names) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name) || !packages.has(name)) return;
    seen.add(name);
    const { manifest } = packages.get(name);
    for (const [dependency, version] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) {
      if (String(version).startsWith('workspace:')) visit(dependency);
    }
  };
  names.forEach(visit);
  return [...seen];
}

/**
 * Why `pkg` needs a build, or undefined when its build is current: `tsc -b` writes `tsconfig.tsbuildinfo` on every
 * build, so a source, manifest or build script newer than it (or a missing output the manifest names) means stale.
 */
function staleness({ dir, manifest }) {
  if (manifest.scripts?.build === undefined) return undefined;
  const built = mtime(join(dir, 'tsconfig.tsbuildinfo'));
  if (built === undefined) return 'never built';
  const exported = Object.values(manifest.exports ?? {}).flatMap((e) =>
    typeof e === 'string' ? [e] : Object.values(e),
  );
  const missing = [manifest.main, ...exported]
    .filter((output) => typeof output === 'string')
    .find((output) => !existsSync(join(dir, output)));
  if (missing !== undefined) return `${missing} is missing`;
  const inputs = [
    newestUnder(join(dir, 'src')),
    ...['package.json', 'tsconfig.json', 'bundle.js'].map((f) => mtime(join(dir, f)) ?? 0),
  ];
  return Math.max(...inputs) > built ? 'sources changed since its last build' : undefined;
}

/** Installs dependencies when node_modules is missing or older than the lockfile. */
function installIfNeeded() {
  const installed = mtime(join(root, 'node_modules', '.modules.yaml'));
  if (installed !== undefined && installed >= (mtime(join(root, 'pnpm-lock.yaml')) ?? 0)) return;
  log(installed === undefined ? 'installing dependencies (once)' : 'pnpm-lock.yaml changed: installing dependencies');
  run('pnpm', ['install', '--prefer-offline', '--frozen-lockfile'], withPnpm(), QUIET);
}

/** Builds `names` and the workspace packages they depend on when any of them is stale. */
function buildIfNeeded(names) {
  const packages = workspacePackages();
  const stale = withDependencies(packages, names)
    .map((name) => [name, staleness(packages.get(name))])
    .filter(([, why]) => why !== undefined);
  if (stale.length === 0) return;
  log(`building (${stale.map(([name, why]) => `${name}: ${why}`).join('; ')})`);
  run('pnpm', [...names.flatMap((name) => ['--filter', `${name}...`]), 'build'], withPnpm(), QUIET);
}

/** Runs the last step as a child that gets our signals, so Ctrl-C / SIGTERM reach everything it started. */
function handOver(cmd, args, options) {
  const child = spawn(cmd, args, { stdio: 'inherit', ...options });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 1)));
}

const [command, ...rest] = process.argv.slice(2);
// Where `npm run` was typed: relative paths given to an operator command mean paths from there.
const userCwd = resolve(process.env.INIT_CWD ?? process.cwd());

/** Operator commands: built JS run with node, after an install and a build only if those are needed. */
const operatorCommands = {
  replay: { build: ['@lockkeys/worker'], script: 'apps/worker/dist/replay.js' },
  apikey: { build: ['@lockkeys/gateway'], script: 'apps/gateway/dist/apikey-cli.js' },
  // A benchmark starts every app (the gateway's auth bench included) from its build.
  bench: {
    build: ['@lockkeys/bench', '@lockkeys/gateway', '@lockkeys/worker', '@lockkeys/lock-simulator'],
    script: 'bench/dist/cli.js',
  },
};
/** Workspace-wide pnpm commands, and `pnpm` itself (`npm run pnpm -- --filter @lockkeys/drills test`). */
const pnpmCommands = { build: ['-r', 'build'], typecheck: ['-r', 'typecheck'], lint: ['-r', 'lint'], pnpm: [] };
const fullCommands = {
  dev: [['node', ['packages/dev-stack/dist/cli.js', 'dev', ...rest]]],
  test: [
    // The gates first, and fast: formatting, lint (determinism rules of workflow code included), types.
    ['pnpm', ['exec', 'prettier', '--check', '.']],
    ['pnpm', ['-r', 'lint']],
    ['pnpm', ['-r', 'typecheck']],
    ['node', ['packages/dev-stack/dist/cli.js', 'ensure-temporal']],
    // Builds the postgres engine's server binaries once, here rather than inside a Jest worker's time budget.
    ['node', ['packages/dev-stack/dist/cli.js', 'ensure-postgres-engine', '--server-only']],
    ['pnpm', ['-r', '--workspace-concurrency=1', 'test', ...rest]],
  ],
};

if (operatorCommands[command]) {
  const { build, script } = operatorCommands[command];
  installIfNeeded();
  buildIfNeeded(build);
  handOver(process.execPath, [join(root, script), ...rest], { cwd: userCwd });
} else if (pnpmCommands[command]) {
  installIfNeeded();
  handOver('pnpm', [...pnpmCommands[command], ...rest], { cwd: root, env: withPnpm() });
} else if (fullCommands[command]) {
  // The two main commands always install and build: they are how a fresh clone becomes a working one.
  const env = withPnpm();
  run('pnpm', ['install', '--prefer-offline', ...(process.env.CI ? ['--frozen-lockfile'] : [])], env);
  run('pnpm', ['-r', 'build'], env);
  const steps = fullCommands[command];
  for (const [cmd, args] of steps.slice(0, -1)) run(cmd, args, env);
  const [lastCmd, lastArgs] = steps[steps.length - 1];
  handOver(lastCmd, lastArgs, { cwd: root, env });
} else {
  const names = [...Object.keys(fullCommands), ...Object.keys(operatorCommands), ...Object.keys(pnpmCommands)];
  log(`usage: node scripts/run.mjs <${names.join('|')}> [arguments]`);
  process.exit(2);
}
