import type { LockJournalBody } from '@lockkeys/contracts';
import { type RunningSimulator, startSimulator, type StartSimulatorOptions } from './server';

const TOKEN = 'fault-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };

async function start(options: StartSimulatorOptions = {}): Promise<RunningSimulator> {
  return startSimulator({ port: 0, dbPath: ':memory:', token: TOKEN, minGapMs: 0, logLevel: 'silent', ...options });
}

async function addKey(sim: RunningSimulator, lockId: number, keyIndexNumber: number, keyUuid: string) {
  const response = await fetch(`${sim.url}/locks/${lockId}/keys/${keyIndexNumber}`, {
    method: 'PUT',
    headers: { ...AUTH, 'content-type': 'application/json', 'idempotency-key': keyUuid },
    body: JSON.stringify({ keyUuid, userId: 'user-1' }),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

async function putFaults(sim: RunningSimulator, change: unknown) {
  const response = await fetch(`${sim.url}/faults`, {
    method: 'PUT',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify(change),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function get(sim: RunningSimulator, path: string) {
  const response = await fetch(`${sim.url}${path}`, { headers: AUTH });
  return (await response.json()) as Record<string, unknown>;
}

/** Statuses of `count` commands to distinct slots of one lock. */
async function statusSequence(sim: RunningSimulator, lockId: number, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let index = 0; index < count; index += 1)
    statuses.push((await addKey(sim, lockId, index, `key-${index}`)).status);
  return statuses;
}

describe('fault injection', () => {
  const running: RunningSimulator[] = [];
  const track = async (options: StartSimulatorOptions = {}) => {
    const sim = await start(options);
    running.push(sim);
    return sim;
  };
  afterEach(async () => {
    await Promise.all(running.splice(0).map((sim) => sim.close()));
  });

  it('answers 503 to every command with failureRate 1, journals them, and writes nothing', async () => {
    const sim = await track({ faults: { failureRate: 1 } });
    const reply = await addKey(sim, 1, 0, 'k');
    expect(reply).toEqual({
      status: 503,
      body: { error: 'Service Unavailable', message: expect.stringContaining('injected'), code: 503 },
    });
    expect(await get(sim, '/locks/1/commands')).toMatchObject({ commands: [{ keyUuid: 'k', status: 503 }] });
    expect(await get(sim, '/locks/1/keys')).toEqual({ lockId: 1, keys: [] });
  });

  it('changes faults at run time with PUT /faults and shows them with GET /faults', async () => {
    const sim = await track({ faults: { seed: 'fixed' } });
    expect(await get(sim, '/faults')).toEqual({
      failureRate: 0,
      latencyMs: 0,
      slowRate: 1,
      dropRate: 0,
      offlineLocks: [],
      seed: 'fixed',
    });
    expect((await addKey(sim, 5, 0, 'before')).status).toBe(201);

    const changed = await putFaults(sim, { offlineLocks: [5] });
    expect(changed).toEqual({ status: 200, body: expect.objectContaining({ offlineLocks: [5], failureRate: 0 }) });
    expect((await addKey(sim, 5, 1, 'during')).status).toBe(503);
    expect((await addKey(sim, 6, 1, 'elsewhere')).status).toBe(201);

    await putFaults(sim, { offlineLocks: [], failureRate: 1 });
    expect((await addKey(sim, 6, 2, 'failing')).status).toBe(503);

    await putFaults(sim, { failureRate: 0 });
    expect((await addKey(sim, 5, 1, 'during')).status).toBe(201);
    expect(await get(sim, '/faults')).toMatchObject({ failureRate: 0, offlineLocks: [], seed: 'fixed' });
  });

  it.each([
    { name: 'a rate above 1', change: { failureRate: 1.5 } },
    { name: 'a negative latency', change: { latencyMs: -1 } },
    { name: 'a string rate', change: { dropRate: '0.5' } },
    { name: 'a lock id 0 offline', change: { offlineLocks: [0] } },
    { name: 'an unknown field', change: { explode: true } },
    { name: 'an array body', change: [] },
  ])('PUT /faults answers 400 for $name and changes nothing', async ({ change }) => {
    const sim = await track();
    const before = await get(sim, '/faults');
    const reply = await putFaults(sim, change);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error: 'Bad Request', code: 400, message: expect.any(String) });
    expect(await get(sim, '/faults')).toEqual(before);
  });

  it('with dropRate 1 applies and journals the command but closes the socket; a replay then gets 200', async () => {
    const sim = await track({ faults: { dropRate: 1 } });
    const lost = await addKey(sim, 3, 4, 'lost-reply').then(
      () => undefined,
      (error: unknown) => error as Error & { cause?: { code?: string } },
    );
    expect(lost?.message).toBe('fetch failed');
    expect(lost?.cause?.code).toBe('UND_ERR_SOCKET');

    await putFaults(sim, { dropRate: 0 });
    expect(await get(sim, '/locks/3/keys')).toMatchObject({ keys: [{ keyIndexNumber: 4, keyUuid: 'lost-reply' }] });
    expect(await get(sim, '/locks/3/commands')).toMatchObject({
      commands: [{ keyIndexNumber: 4, keyUuid: 'lost-reply', status: 201, dropped: true }],
    });
    expect((await addKey(sim, 3, 4, 'lost-reply')).status).toBe(200);
  });

  it('repeats the same failure sequence for the same seed, and another for another seed', async () => {
    const options = { faults: { failureRate: 0.5, seed: 'lockkeys' } };
    const first = await statusSequence(await track(options), 1, 24);
    const second = await statusSequence(await track(options), 1, 24);
    expect(second).toEqual(first);
    expect(first).toContain(201);
    expect(first).toContain(503);

    const reseeded = await track({ faults: { failureRate: 0.5, seed: 'other' } });
    expect(await statusSequence(reseeded, 1, 24)).not.toEqual(first);

    // Re-seeding at run time restarts the same sequence.
    await putFaults(reseeded, { seed: 'lockkeys' });
    expect(await statusSequence(reseeded, 2, 24)).toEqual(first);
  });

  it('delays the reply by latencyMs but journals the receive time', async () => {
    const sim = await track({ faults: { latencyMs: 150 } });
    const sentAt = Date.now();
    expect((await addKey(sim, 1, 0, 'slow')).status).toBe(201);
    const repliedAt = Date.now();
    expect(repliedAt - sentAt).toBeGreaterThanOrEqual(140);

    const { commands } = (await get(sim, '/locks/1/commands')) as LockJournalBody;
    expect(commands[0]?.at).toBeLessThan(sentAt + 100);

    await putFaults(sim, { slowRate: 0 });
    const fastFrom = Date.now();
    await addKey(sim, 1, 1, 'fast');
    expect(Date.now() - fastFrom).toBeLessThan(140);
  });
});
