import { TestStack, type GatewayClient } from '@lockkeys/testing';

/**
 * Runs on one lock take it strictly in the order the gateway accepted them (SPEC): 10 one-key runs POSTed one after
 * another on each of 10 locks at once, 20 times over (five rounds at a time, each on locks of its own), and every
 * lock's journal holds the runs' keys in the order of their 202s.
 */
const GAP_MS = 1_000;
const stack = TestStack.forSuite({ name: 'lock-order', env: { KEY_COMMAND_GAP_MS: String(GAP_MS) } });
const ROUNDS = 20;
const AT_ONCE = 5;
const LOCKS = 10;
const RUNS_PER_LOCK = 10;

/** One lock's runs, POSTed one after another: the keyUuids in the order of their 202s. */
async function postInOrder(gateway: GatewayClient, lockId: number, round: number): Promise<string[]> {
  const accepted: string[] = [];
  for (let n = 0; n < RUNS_PER_LOCK; n++) {
    const key = { keyUuid: `order-${round}-${lockId}-${n}`, keyIndexNumber: n, userId: `user-${n}` };
    await gateway.startRun(lockId, [key]);
    accepted.push(key.keyUuid);
  }
  return accepted;
}

test(`${ROUNDS} rounds of ${LOCKS} locks × ${RUNS_PER_LOCK} runs: every lock's journal is in acceptance order`, async () => {
  const outOfOrder: unknown[] = [];
  const rounds = Array.from({ length: ROUNDS }, (_, r) => r);
  for (let wave = 0; wave < ROUNDS; wave += AT_ONCE) {
    await Promise.all(
      rounds.slice(wave, wave + AT_ONCE).map(async (round) => {
        const lockIds = Array.from({ length: LOCKS }, (_, i) => 2_000 + round * LOCKS + i);
        const accepted = await Promise.all(lockIds.map((lockId) => postInOrder(stack.gateway, lockId, round)));
        const journals = await Promise.all(
          lockIds.map((lockId) => stack.simulator.waitForCommands([lockId], RUNS_PER_LOCK, 120_000)),
        );
        lockIds.forEach((lockId, i) => {
          const got = journals[i]!.map((c) => c.keyUuid);
          if (got.join() !== accepted[i]!.join()) outOfOrder.push({ round, lockId, accepted: accepted[i], got });
          for (let k = 1; k < journals[i]!.length; k++) {
            const gapMs = journals[i]![k]!.at - journals[i]![k - 1]!.at;
            if (gapMs < GAP_MS) outOfOrder.push({ round, lockId, gapMs });
          }
        });
      }),
    );
  }
  expect(outOfOrder).toEqual([]);
}, 600_000);
