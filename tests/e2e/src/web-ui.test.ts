import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { keysFor, TestStack } from '@lockkeys/testing';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS, ensureChromium } from './chromium';

/** An operator finds a run in the Temporal Web UI by LockId and sees what it did. */
const chromiumStatus = ensureChromium();
const browserTest = 'path' in chromiumStatus ? test : test.skip;
if ('skip' in chromiumStatus) process.stderr.write(`web-ui test skipped: ${chromiumStatus.skip}\n`);

/** Screenshots land here (ignored by git); the README's picture is one of them. */
export const ARTIFACTS_DIR = join(__dirname, '..', 'artifacts');

let stack: TestStack;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!('path' in chromiumStatus)) return;
  stack = await TestStack.start({ name: 'web-ui' });
  browser = await chromium.launch({ executablePath: chromiumStatus.path, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

browserTest(
  'the run is listed under LockId = 801 and OrgId = "dev"; its page shows the summary, each addKey, the timers between and the lock freed',
  async () => {
    const body = await stack.gateway.startRun(801, keysFor(801, [1, 2, 3], 'ui'));
    await stack.gateway.waitForRun(801, body.instanceId, {
      until: (run) => run.status === 'complete',
      timeoutMs: 20_000,
      what: 'the run to complete',
    });
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });

    const query = encodeURIComponent('LockId = 801 AND OrgId = "dev"');
    await page.goto(`${stack.webUiUrl}/namespaces/default/workflows?query=${query}`);
    const row = page.getByRole('link', { name: body.instanceId }).first();
    await row.waitFor({ timeout: 30_000 });
    await page.getByText('bulkAddKeys').first().waitFor();
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'web-ui-list.png') });

    await row.click();
    await page.waitForURL(`**/workflows/${body.instanceId}/**`, { timeout: 30_000 });
    await page.getByText('Add 3 keys to lock 801 for org dev').first().waitFor({ timeout: 30_000 });
    // The loop as designed, in the timeline: the settings, then addKey (a local activity), the gap timer, addKey, the
    // timer, addKey; then the signal that frees the lock, and the webhook's announcement.
    const timeline = (text: string) => page.getByText(text, { exact: true });
    await timeline('1000 ms before the next command to lock 801').first().waitFor({ timeout: 30_000 });
    expect(await timeline('1000 ms before the next command to lock 801').count()).toBeGreaterThanOrEqual(2);
    expect(await timeline('addKey').count()).toBeGreaterThanOrEqual(3);
    for (const step of ['readRunSettings', 'runClosed', 'announceRunClosed']) await timeline(step).first().waitFor();
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'web-ui-run.png') });
    await page.close();
  },
);
