// startStack({ engine: 'postgres' }) end to end: a POST through the gateway completes a run on the production engine,
// with two workers polling. The e2e and drill suites on this engine build on exactly this.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEV_API_KEY, DEV_JWT_SECRET } from '@lockkeys/contracts';
import { mintJwt } from './credentials';
import { freePort } from './ports';
import { ensurePostgresBinaries, freeEnginePorts } from './postgres';
import { startStack, type Stack } from './stack';

jest.setTimeout(180_000);

const postgresMissing = (() => {
  try {
    ensurePostgresBinaries();
    return undefined;
  } catch (error) {
    if (process.env.CI) throw error;
    return (error as Error).message;
  }
})();
const describeEngine = postgresMissing ? describe.skip : describe;

describeEngine("startStack({ engine: 'postgres' })", () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lockkeys-stack-pg-'));
  let stack: Stack | undefined;
  const lines: string[] = [];

  beforeAll(async () => {
    const ports = {
      temporal: await freePort(),
      temporalUi: await freePort(),
      simulator: await freePort(),
      gateway: await freePort(),
      workerHealth: await freePort(),
      workerMetrics: await freePort(),
      worker2Health: await freePort(),
      worker2Metrics: await freePort(),
    };
    stack = await startStack({
      rootDir: resolve(__dirname, '..', '..', '..'),
      dataDir,
      ports,
      engine: 'postgres',
      enginePorts: await freeEnginePorts(),
      print: (name, line) => lines.push(`[${name}] ${line}`),
    });
  }, 900_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (stack?.engine) rmSync(stack.engine.postgresDir, { recursive: true, force: true });
  });

  test('two workers, no dev server, and a POST through the gateway completes its run', async () => {
    const running = stack as Stack;
    expect(Object.keys(running.services).sort()).toEqual(['gateway', 'lock-simulator', 'worker', 'worker-2']);
    expect(running.engine?.temporalAddress).toBe(running.temporalAddress);

    const headers = {
      Authorization: `Bearer ${mintJwt(DEV_JWT_SECRET, { sub: 'engine-test', org: 'dev' })}`,
      'X-API-Key': DEV_API_KEY,
      'Content-Type': 'application/json',
    };
    const keys = [7, 8].map((n) => ({ keyUuid: `engine-key-${n}`, keyIndexNumber: n, userId: `user-${n}` }));
    const post = await fetch(`${running.gatewayUrl}/locks/321/BulkAddKeys`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ keys }),
    });
    expect(post.status).toBe(202);
    const { instanceId } = (await post.json()) as { instanceId: string };

    let status: { status?: string; summary?: unknown } = {};
    const deadline = Date.now() + 60_000;
    while (status.status !== 'complete' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      const response = await fetch(`${running.gatewayUrl}/locks/321/BulkAddKeys/${instanceId}`, { headers });
      status = (await response.json()) as typeof status;
    }
    expect(status).toMatchObject({ status: 'complete', summary: { total: 2, added: 2, failed: 0 } });

    const journal = await fetch(`${running.simulatorUrl}/locks/321/commands`, {
      headers: { Authorization: 'Bearer dev-lock-token' },
    });
    const commands = ((await journal.json()) as { commands: { status: number }[] }).commands;
    expect(commands.map((command) => command.status)).toEqual([201, 201]);
  });
});
