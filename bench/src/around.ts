/**
 * What a client meets around a run (issue 12), each on a stack of its own:
 * - `webhooks`: how long after a run closes its completion webhook reaches a receiver on 127.0.0.1, for runs
 *   closing one at a time and for a burst of runs closing together;
 * - `listing`: `GET /locks/{lockId}/BulkAddKeys` on a lock with 1,000 runs (closed and open), beside the bare
 *   visibility call it stands on, measured in the same run.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  BULK_ADD_KEYS_WORKFLOW,
  DEV_ORG_ID,
  LOCK_ID_SEARCH_ATTRIBUTE,
  ORG_ID_SEARCH_ATTRIBUTE,
  runClosedEventSchema,
} from '@lockkeys/contracts';
import {
  eventually,
  expectStatus,
  keysFor,
  scratchDir,
  withTestStack,
  type StackEngine,
  type TestStack,
} from '@lockkeys/testing';
import type { Client } from '@temporalio/client';
import { log } from './bench-stack';
import type { Row } from './report';
import { summarize, type Summary } from './stats';
import type { BenchOutcome } from './types';

const SECRET = `whsec_${Buffer.from('bench-webhook-secret-32-bytes-ok').toString('base64')}`;
const LOCK_ID_QUERY = (lockId: number) =>
  `WorkflowType = '${BULK_ADD_KEYS_WORKFLOW}' AND ${LOCK_ID_SEARCH_ATTRIBUTE} = ${lockId}`;

export interface WebhooksOptions {
  /** Runs closing one at a time (each waits for the previous webhook). */
  sequential: number;
  /** Runs started at once, on locks of their own. */
  burst: number;
}

/** A receiver on 127.0.0.1 that answers 204 and notes when each run's event arrived. */
async function startReceiver(): Promise<{ server: Server; url: string; arrivals: Map<string, number> }> {
  const arrivals = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = Date.now();
      const event = runClosedEventSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      if (!arrivals.has(event.data.instanceId)) arrivals.set(event.data.instanceId, at);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, arrivals };
}

/** Milliseconds from each run's close (Temporal's close time) to its webhook's arrival. */
async function latencies(client: Client, arrivals: Map<string, number>, instanceIds: readonly string[]) {
  const figures: number[] = [];
  for (const instanceId of instanceIds) {
    const { closeTime } = await client.workflow.getHandle(instanceId).describe();
    if (closeTime === undefined) throw new Error(`${instanceId} has not closed`);
    figures.push(arrivals.get(instanceId)! - closeTime.getTime());
  }
  return summarize(figures);
}

export async function webhooksBench(engine: StackEngine, options: WebhooksOptions): Promise<BenchOutcome> {
  const receiver = await startReceiver();
  const file = join(scratchDir('bench-webhooks'), 'webhooks.json');
  writeFileSync(file, JSON.stringify({ webhooks: [{ orgId: DEV_ORG_ID, url: receiver.url, secret: SECRET }] }));
  try {
    return await withTestStack(
      { name: `bench-webhooks-${engine}`, engine, env: { WEBHOOKS_FILE: file }, clientName: 'bench' },
      async (stack) => {
        const client = await stack.temporalClient();
        const delivered = (ids: readonly string[]) =>
          eventually(
            async () => (ids.every((id) => receiver.arrivals.has(id)) ? true : undefined),
            300_000,
            `${ids.length} webhooks`,
            20,
          );
        log(`webhooks (${engine}): ${options.sequential} runs one at a time`);
        const sequentialIds: string[] = [];
        for (let i = 0; i < options.sequential; i++) {
          const lockId = 7000 + i;
          const { instanceId } = await stack.gateway.startRun(lockId, keysFor(lockId, [1], 'hook'));
          sequentialIds.push(instanceId);
          await delivered([instanceId]);
        }
        log(`webhooks (${engine}): ${options.burst} runs at once`);
        const burstIds = await Promise.all(
          Array.from({ length: options.burst }, async (_, i) => {
            const lockId = 8000 + i;
            return (await stack.gateway.startRun(lockId, keysFor(lockId, [1], 'hook'))).instanceId;
          }),
        );
        await delivered(burstIds);
        const sequential = await latencies(client, receiver.arrivals, sequentialIds);
        const burst = await latencies(client, receiver.arrivals, burstIds);
        return {
          name: `webhooks-${engine}`,
          title: `Completion webhooks on the ${engine} engine: run closed → event at the receiver (127.0.0.1)`,
          rows: [
            { metric: 'one run at a time', unit: 'ms', summary: sequential },
            { metric: `${options.burst} runs closing together`, unit: 'ms', summary: burst },
          ],
          notes: ['Close time from Temporal (describe), arrival from the receiver: one clock, this machine.'],
          figures: { engine, options, sequential, burst },
        };
      },
      log,
    );
  } finally {
    receiver.server.closeAllConnections();
    await new Promise((resolve) => receiver.server.close(resolve));
  }
}

export interface ListingOptions {
  /** Runs on the one lock (closed ones; a few more stay open). */
  runs: number;
  /** Samples per measured request. */
  samples: number;
}

const LISTING_LOCK = 4242;

/** `samples` timings (ms) of `call`, one after another. */
async function timed(samples: number, call: () => Promise<unknown>): Promise<Summary> {
  const figures: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await call();
    figures.push(performance.now() - started);
  }
  return summarize(figures);
}

/** Starts `runs` one-key runs on the lock, `inFlight` POSTs at a time (each its own slot), and waits for them. */
async function fillLock(stack: TestStack, client: Client, runs: number): Promise<void> {
  const inFlight = 20;
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let slot = next++; slot < runs; slot = next++)
        await stack.gateway.startRun(LISTING_LOCK, keysFor(LISTING_LOCK, [slot], 'list'));
    }),
  );
  await eventually(
    async () => {
      const { count } = await client.workflow.count(`${LOCK_ID_QUERY(LISTING_LOCK)} AND ExecutionStatus = 'Completed'`);
      return count >= runs ? true : undefined;
    },
    1_800_000,
    `${runs} runs on lock ${LISTING_LOCK} to complete`,
    1_000,
  );
}

export async function listingBench(engine: StackEngine, options: ListingOptions): Promise<BenchOutcome> {
  return withTestStack(
    {
      name: `bench-listing-${engine}`,
      engine,
      // One-key runs back to back on one lock with no gap (a dev setting; the simulator's own gap off too), so that
      // 1,000 of them close in minutes; with the real 1 s gap they would take 17.
      env: { KEY_COMMAND_GAP_MS: '0', LOCK_SIM_MIN_GAP_MS: '0', MAX_ACTIVE_RUNS_PER_LOCK: '1000' },
      clientName: 'bench',
    },
    async (stack) => {
      const client = await stack.temporalClient();
      const fillStarted = Date.now();
      log(`listing (${engine}): ${options.runs} runs on lock ${LISTING_LOCK}`);
      await fillLock(stack, client, options.runs);
      const fillS = Math.round((Date.now() - fillStarted) / 1000);
      log(`listing (${engine}): filled in ${fillS} s; measuring`);
      const list = async (query: Record<string, string | number | undefined>) =>
        expectStatus(await stack.gateway.list(LISTING_LOCK, query), 200, `GET list ${JSON.stringify(query)}`);
      const walk = async () => {
        let cursor: string | null = null;
        let seen = 0;
        do {
          const page = await list({ limit: 100, cursor: cursor ?? undefined });
          seen += page.runs.length;
          cursor = page.nextCursor;
        } while (cursor !== null);
        if (seen !== options.runs) throw new Error(`the walk saw ${seen} runs, not ${options.runs}`);
      };
      const bare = (pageSize: number) => async () => {
        const response = await client.workflowService.listWorkflowExecutions({
          namespace: 'default',
          query: `${LOCK_ID_QUERY(LISTING_LOCK)} AND ${ORG_ID_SEARCH_ATTRIBUTE} = '${DEV_ORG_ID}'`,
          pageSize,
        });
        return response.executions?.length;
      };
      const page5 = await (async () => {
        let cursor: string | null = null;
        for (let i = 0; i < 4; i++) cursor = (await list({ limit: 100, cursor: cursor ?? undefined })).nextCursor;
        return cursor!;
      })();
      const rows: Row[] = [
        { metric: 'bare visibility, pageSize 20', unit: 'ms', summary: await timed(options.samples, bare(20)) },
        {
          metric: 'GET …/BulkAddKeys (limit 20, default)',
          unit: 'ms',
          summary: await timed(options.samples, () => list({})),
        },
        { metric: 'bare visibility, pageSize 100', unit: 'ms', summary: await timed(options.samples, bare(100)) },
        { metric: 'GET ?limit=100', unit: 'ms', summary: await timed(options.samples, () => list({ limit: 100 })) },
        {
          metric: 'GET ?limit=100&cursor=<page 5>',
          unit: 'ms',
          summary: await timed(options.samples, () => list({ limit: 100, cursor: page5 })),
        },
        {
          metric: 'GET ?status=complete&limit=100',
          unit: 'ms',
          summary: await timed(options.samples, () => list({ status: 'complete', limit: 100 })),
        },
        {
          metric: `walk all ${options.runs} runs, limit 100`,
          unit: 'ms',
          summary: await timed(Math.max(3, Math.round(options.samples / 6)), walk),
        },
      ];
      const figures = Object.fromEntries(rows.map((row) => [row.metric, row.summary]));
      return {
        name: `listing-${engine}`,
        title: `Listing a lock's runs on the ${engine} engine: ${options.runs} closed runs on one lock`,
        rows,
        notes: [`Filled by ${options.runs} one-key runs through the gateway, no gap, in ${fillS} s.`],
        figures: { engine, options, fillS, ...figures },
      };
    },
    log,
  );
}
