/**
 * `storm` (issue 16): what an organization's dead webhook endpoint costs everybody else. One stack per engine with two
 * organizations' endpoints — `dev`'s receiver answers, `storm`'s address refuses every connection — and the same
 * fan-out for `dev` measured twice, side by side in one run: with nothing pending, then with `--pending` events of
 * `storm` waiting at its endpoint.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DEV_API_KEY, DEV_JWT_SECRET, DEV_ORG_ID, type WebhookList } from '@lockkeys/contracts';
import { freePort, mintJwt } from '@lockkeys/dev-stack';
import { eventually, GatewayClient, keysFor, mapLimit, scratchDir, sleep } from '@lockkeys/testing';
import { log, withSession, type Engine, type StackTuning } from './bench-stack';
import { fanoutOnce, type FanoutOptions, type FanoutResult } from './fanout';
import { ratio, summarize } from './stats';
import type { BenchOutcome } from './types';

export interface StormOptions {
  /** Fan-out locks (× 5 keys) of `dev`, measured with and without the backlog. */
  locks: number;
  /** Events of `storm` waiting at its dead endpoint during the second fan-out. */
  pending: number;
  fanout: Omit<FanoutOptions, 'levels' | 'variants'>;
}

const SECRET = `whsec_${Buffer.from('bench-storm-secret-32-bytes-long').toString('base64')}`;
const STORM_KEY = 'lk_bench_storm_0000000000000000000001';
const STORM_ORG = 'storm';
/** Events waiting at the endpoint, as `GET /webhooks` answered (undefined for an error body). */
const pendingOf = (body: object) => ('webhooks' in body ? (body as WebhookList).webhooks[0]?.pending : undefined);
/** POSTs that got no 202 (a result keeps only its first 10 messages). */
const refused = (r: FanoutResult) => r.locks - r.runsStarted;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export async function stormBench(engine: Engine, tuning: StackTuning, options: StormOptions): Promise<BenchOutcome> {
  const receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const live = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  // A port nobody listens on: every attempt is refused at once.
  const dead = `http://127.0.0.1:${await freePort()}/hooks`;
  const dir = scratchDir('bench-storm');
  const webhooksFile = join(dir, 'webhooks.json');
  const apiKeysFile = join(dir, 'api-keys.json');
  writeFileSync(
    webhooksFile,
    JSON.stringify({
      webhooks: [
        { orgId: DEV_ORG_ID, url: live, secret: SECRET },
        { orgId: STORM_ORG, url: dead, secret: SECRET },
      ],
    }),
  );
  writeFileSync(
    apiKeysFile,
    JSON.stringify({
      keys: [
        { id: 'dev', sha256: sha256(DEV_API_KEY), orgId: DEV_ORG_ID, locks: '*' },
        { id: 'storm', sha256: sha256(STORM_KEY), orgId: STORM_ORG, locks: '*' },
      ],
    }),
  );
  const fanout: FanoutOptions = { ...options.fanout, levels: [options.locks], variants: ['local'] };
  try {
    return await withSession(
      engine,
      { ...tuning, appEnv: { ...tuning.appEnv, WEBHOOKS_FILE: webhooksFile, API_KEYS_FILE: apiKeysFile } },
      async (session) => {
        const storm = new GatewayClient(session.stack.gatewayUrl, {
          jwt: mintJwt(DEV_JWT_SECRET, { sub: 'bench', org: STORM_ORG }),
          apiKey: STORM_KEY,
        });
        log(`storm (${engine}): fan-out ${options.locks} × ${options.fanout.keysPerLock}, nothing pending`);
        const quiet: FanoutResult = await fanoutOnce(session, 'local', options.locks, fanout);

        log(`storm (${engine}): ${options.pending} events for a dead endpoint`);
        const backlogStartedAt = Date.now();
        const pendingAtStart = await session.withWorkers('local', async () => {
          const lockIds = session.nextLockIds(options.pending);
          await mapLimit(lockIds, 50, (lockId) => storm.startRun(lockId, keysFor(lockId, [1], 'storm')));
          const [first, last] = [lockIds[0]!, lockIds.at(-1)!];
          const closed = `WorkflowType = 'bulkAddKeys' AND LockId >= ${first} AND LockId <= ${last} AND ExecutionStatus = 'Completed'`;
          await eventually(
            async () => ((await session.client.workflow.count(closed)).count >= options.pending ? true : undefined),
            600_000,
            `the ${options.pending} runs of ${STORM_ORG} to close`,
            1_000,
          );
          // Every event waits at the dead endpoint (which probes it now and then). A gateway without GET /webhooks (an
          // earlier generation, measured for comparison) has its per-run deliveries under way once the runs closed.
          return eventually(
            async () => {
              const answer = await storm.webhooks().catch(() => undefined);
              if (answer === undefined || answer.status === 404) return Number.NaN;
              const pending = pendingOf(answer.body);
              return pending !== undefined && pending >= options.pending ? pending : undefined;
            },
            600_000,
            `${options.pending} events waiting at the dead endpoint`,
            1_000,
          );
        });
        const backlogMs = Date.now() - backlogStartedAt;
        await sleep(2_000);

        log(`storm (${engine}): fan-out ${options.locks} × ${options.fanout.keysPerLock}, ${pendingAtStart} pending`);
        const loaded: FanoutResult = await fanoutOnce(session, 'local', options.locks, fanout);
        const after = await storm.webhooks().catch(() => undefined);
        const pendingAtEnd = (after && pendingOf(after.body)) ?? Number.NaN;
        const slowdown = ratio(loaded.elapsedMs, quiet.elapsedMs);
        const row = (label: string, r: FanoutResult) => ({
          metric: `${label}: first POST → last key`,
          unit: 'ms',
          summary: summarize([r.elapsedMs]),
        });
        return {
          name: `storm-${engine}`,
          title:
            `A dead webhook endpoint's cost to another organization on the ${engine} engine: fan-out ` +
            `${options.locks} × ${options.fanout.keysPerLock} for organization ${DEV_ORG_ID}, without and with ${options.pending} events pending`,
          rows: [row('nothing pending', quiet), row(`${options.pending} events pending`, loaded)],
          notes: [
            `with / without: ${slowdown} (target ≤ 1.1); journals: ${quiet.check.clean && loaded.check.clean ? 'ok' : 'VIOLATED'}; ` +
              `refused POSTs: ${refused(quiet)} + ${refused(loaded)}`,
            `the backlog took ${(backlogMs / 1000).toFixed(1)} s to build; ${pendingAtEnd} events still pending after the second fan-out`,
          ],
          figures: { engine, options, quiet, loaded, slowdown, pendingAtStart, pendingAtEnd, backlogMs },
        };
      },
    );
  } finally {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  }
}
