import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config';
import { startSimulator } from './server';

const TOKEN = 'server-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };

describe('startSimulator', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lock-simulator-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps slots and journal across a restart on the same database file', async () => {
    const dbPath = join(dir, 'nested', 'locks.sqlite');
    const options = { port: 0, dbPath, token: TOKEN, minGapMs: 0, logLevel: 'silent' as const };

    const first = await startSimulator(options);
    const put = await fetch(`${first.url}/locks/77/keys/5`, {
      method: 'PUT',
      headers: { ...AUTH, 'content-type': 'application/json', 'idempotency-key': 'durable' },
      body: JSON.stringify({ keyUuid: 'durable', userId: 'u-77' }),
    });
    expect(put.status).toBe(201);
    await first.close();

    const second = await startSimulator(options);
    try {
      const keys = await (await fetch(`${second.url}/locks/77/keys`, { headers: AUTH })).json();
      expect(keys).toEqual({
        lockId: 77,
        keys: [{ keyIndexNumber: 5, keyUuid: 'durable', userId: 'u-77', addedAt: expect.any(Number) }],
      });
      const commands = await (await fetch(`${second.url}/locks/77/commands`, { headers: AUTH })).json();
      expect(commands).toEqual({
        lockId: 77,
        commands: [{ at: expect.any(Number), keyIndexNumber: 5, keyUuid: 'durable', status: 201 }],
      });
      const replay = await fetch(`${second.url}/locks/77/keys/5`, {
        method: 'PUT',
        headers: { ...AUTH, 'content-type': 'application/json', 'idempotency-key': 'durable' },
        body: JSON.stringify({ keyUuid: 'durable', userId: 'u-77' }),
      });
      expect(replay.status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it('listens on 127.0.0.1 with a free port, stops answering after close, and tolerates a second close', async () => {
    const sim = await startSimulator({ port: 0, dbPath: ':memory:', logLevel: 'silent' });
    expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`);
    expect(sim.port).toBeGreaterThan(0);
    const authorized = await fetch(`${sim.url}/faults`, { headers: { authorization: 'Bearer dev-lock-token' } });
    expect(authorized.status).toBe(200);

    await sim.close();
    await sim.close();
    const refused = await fetch(`${sim.url}/healthz`).then(
      () => undefined,
      (error: unknown) => error as Error & { cause?: { code?: string } },
    );
    expect(refused?.cause?.code).toBe('ECONNREFUSED');
  });

  it('rejects invalid options with ConfigError and a port in use with the listen error', async () => {
    await expect(startSimulator({ port: 0, dbPath: ':memory:', faults: { failureRate: 2 } })).rejects.toThrow(
      ConfigError,
    );

    const sim = await startSimulator({ port: 0, dbPath: ':memory:', logLevel: 'silent' });
    try {
      await expect(startSimulator({ port: sim.port, dbPath: ':memory:', logLevel: 'silent' })).rejects.toThrow(
        /EADDRINUSE/,
      );
    } finally {
      await sim.close();
    }
  });
});
