import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's Chromium; the browser test never downloads a browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for headless Chromium on a machine whose network is closed. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Chromium's path, installing Debian's package when it is missing and we may (root with apt-get).
 * Returns a reason instead when it cannot be had, so the browser test can skip with it.
 */
export function ensureChromium(): { path: string } | { skip: string } {
  if (existsSync(CHROMIUM_PATH)) return { path: CHROMIUM_PATH };
  if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version']).status !== 0) {
    return { skip: `${CHROMIUM_PATH} is missing and this user cannot apt-get install chromium` };
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
    encoding: 'utf8',
    env,
    timeout: 600_000,
  });
  if (install.status !== 0 || !existsSync(CHROMIUM_PATH)) {
    return { skip: `apt-get install chromium failed: ${(install.stderr ?? '').split('\n').slice(-3).join(' ')}` };
  }
  return { path: CHROMIUM_PATH };
}
