import { join } from 'node:path';
import type { JournalEntry } from '@lockkeys/contracts';
import { answers200, freePort, startService, type RunningService } from '@lockkeys/dev-stack';
import { ROOT_DIR } from './repo';
import { addedToAddedGaps, journalGaps, SimulatorClient } from './simulator';

const at = (ms: number, status = 201): JournalEntry => ({ at: ms, keyIndexNumber: 0, keyUuid: 'k', status });

test('every command counts for the contract gap, a refused one included', () => {
  expect(journalGaps([at(0), at(700, 429), at(1_700), at(2_710)])).toEqual([700, 1_000, 1_010]);
});

test('the overhead is measured between two added keys only, so retries do not count as overhead', () => {
  expect(addedToAddedGaps([at(0), at(700, 429), at(1_700), at(2_710)])).toEqual([1_010]);
  expect(addedToAddedGaps([at(0)])).toEqual([]);
});

describe('against the real simulator (its built main.js, as the stacks run it)', () => {
  let simulator: RunningService;
  let client: SimulatorClient;

  beforeAll(async () => {
    const port = await freePort();
    simulator = await startService(
      {
        name: 'lock-simulator',
        command: process.execPath,
        args: [join(ROOT_DIR, 'apps/lock-simulator/dist/main.js')],
        env: { ...process.env, LOCK_SIM_PORT: String(port), LOCK_SIM_DB: ':memory:', LOCK_SIM_MIN_GAP_MS: '0' },
        ready: () => answers200(`http://127.0.0.1:${port}/healthz`),
      },
      () => undefined,
    );
    client = new SimulatorClient(`http://127.0.0.1:${port}`);
  });
  afterAll(() => simulator?.stop());

  test('add-key answers, the journal and the slots, as the contract types them', async () => {
    const key = { keyUuid: 'k-1', userId: 'u-1' };
    expect(await client.putKey(5, 3, key)).toMatchObject({
      status: 201,
      body: { lockId: 5, keyIndexNumber: 3, ...key },
    });
    expect((await client.putKey(5, 3, key)).status).toBe(200);
    expect(await client.putKey(5, 3, { keyUuid: 'k-2', userId: 'u-2' })).toMatchObject({
      status: 409,
      body: { error: 'Conflict', code: 409 },
    });
    const journal = await client.journal(5);
    expect(journal.map((c) => [c.keyIndexNumber, c.keyUuid, c.status])).toEqual([
      [3, 'k-1', 201],
      [3, 'k-1', 200],
      [3, 'k-2', 409],
    ]);
    expect(await client.journal(5, journal[2]!.at + 1)).toEqual([]);
    expect(await client.slots(5)).toEqual([{ keyIndexNumber: 3, ...key, addedAt: journal[0]!.at }]);
    expect(await client.waitForCommands([5, 6], 3, 1_000)).toHaveLength(3);
    await expect(client.waitForCommands([5], 4, 300)).rejects.toThrow('waiting for 4 commands to lock 5');
  });

  test('fault injection is read and changed; reset empties a lock', async () => {
    const changed = await client.setFaults({ offlineLocks: [8], seed: 'fixed' });
    expect(changed).toMatchObject({ offlineLocks: [8], seed: 'fixed', failureRate: 0 });
    expect(await client.faults()).toEqual(changed);
    expect((await client.putKey(8, 1, { keyUuid: 'k-8', userId: 'u' })).status).toBe(503);
    await client.setFaults({ offlineLocks: [] });

    await client.putKey(7, 1, { keyUuid: 'k-7', userId: 'u' });
    expect(await client.reset(7)).toEqual({ lockId: 7, removedKeys: 1, removedCommands: 1 });
    expect(await client.journal(7)).toEqual([]);
  });

  test('a wrong token or an unknown lock is an error naming the request', async () => {
    const stranger = new SimulatorClient(client.baseUrl, 'not-the-token');
    await expect(stranger.journal(5)).rejects.toThrow(/simulator GET \/locks\/5\/commands: 401/);
    await expect(client.slots(999_999_999)).rejects.toThrow(/simulator GET \/locks\/999999999\/keys: 404/);
  });
});
