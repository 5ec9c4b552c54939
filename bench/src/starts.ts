import { sleep, type GatewayClient } from '@lockkeys/testing';
import type { Client } from '@temporalio/client';
import autocannon from 'autocannon';
import { log, WITH_DESCENDANTS, type BenchSession } from './bench-stack';
import { processGroup } from './cost';
import { startLockkeysRunBare } from './lockkeys-start';
import { ProcessSampler, type ProcessUsage } from './proc';
import type { Row } from './report';
import { summarize, type Summary } from './stats';
import type { BenchOutcome } from './types';

export interface StartsOptions {
  durationS: number;
  /** Fixed rate of the first pair (the p99 target is at 200 req/s). */
  rate: number;
  /** Concurrency of both sides, at the fixed rate and at full speed. */
  concurrency: number;
  warmUpS: number;
}

/** One side of one phase. */
interface SideResult {
  requests: number;
  errors: number;
  firstError?: string;
  reqPerSec: number;
  latencyMs: { min: number; p50: number; p99: number; max: number };
  /** HTTP statuses seen (gateway side only). */
  statusCodes?: Record<string, number>;
  processes: Record<string, ProcessUsage>;
}

/** Lock ids never repeat within a run, so a lock's queue is never what is measured. */
let lastLockId = 0;
const nextLockId = () => ++lastLockId;

const oneKey = (lockId: number) => ({ keyUuid: `starts-${lockId}`, keyIndexNumber: 1, userId: 'user-1' });

/**
 * (a) The bare loop: `concurrency` lanes of `client.workflow.start`, with what the gateway sends Temporal
 * (one-key input, search attributes, memo, summary); at `rate` when given, like autocannon's overallRate.
 */
async function bareStarts(client: Client, durationMs: number, concurrency: number, rate?: number) {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const startedAt = performance.now();
  const endAt = startedAt + durationMs;
  let slot = 0;
  const lane = async () => {
    for (;;) {
      if (rate !== undefined) {
        const due = startedAt + (slot++ * 1000) / rate;
        // Like autocannon: a lane that fell behind the rate stops at the deadline instead of catching up.
        if (due >= endAt || performance.now() >= endAt) return;
        if (due > performance.now()) await sleep(due - performance.now());
      } else if (performance.now() >= endAt) return;
      const lockId = nextLockId();
      const sentAt = performance.now();
      try {
        await startLockkeysRunBare(client, lockId, [oneKey(lockId)]);
        latencies.push(performance.now() - sentAt);
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const elapsedS = (performance.now() - startedAt) / 1000;
  const s: Summary = summarize(latencies);
  return {
    requests: latencies.length,
    errors,
    firstError,
    reqPerSec: latencies.length / elapsedS,
    latencyMs: { min: s.min, p50: s.median, p99: s.p99, max: s.max },
  };
}

/** (b) `POST /locks/{id}/BulkAddKeys` through the gateway with autocannon, a new lock id per request. */
async function gatewayStarts(gateway: GatewayClient, durationS: number, concurrency: number, rate?: number) {
  const headers = gateway.headers();
  const result = await autocannon({
    url: gateway.baseUrl,
    connections: concurrency,
    duration: durationS,
    ...(rate !== undefined && { overallRate: rate }),
    requests: [
      {
        method: 'POST',
        headers,
        setupRequest: (request) => {
          const lockId = nextLockId();
          return { ...request, path: `/locks/${lockId}/BulkAddKeys`, body: JSON.stringify({ keys: [oneKey(lockId)] }) };
        },
      },
    ],
  });
  const statuses = Object.entries(result.statusCodeStats ?? {})
    .map(([code, s]) => `${code}×${s.count ?? 0}`)
    .join(', ');
  const errors = result.errors + result.non2xx;
  return {
    requests: result.requests.total,
    errors,
    ...(errors > 0 && {
      firstError: `statuses ${statuses}; ${result.errors} connection errors, ${result.timeouts} timeouts`,
    }),
    reqPerSec: result.requests.total / durationS,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([code, st]) => [code, st.count ?? 0]),
    ),
    latencyMs: { min: result.latency.min, p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  };
}

/**
 * Gateway starts side by side with bare client starts on the same server, same concurrency: at a fixed rate
 * and at full speed. The worker is stopped first, so the runs wait in their task queue and cost nothing.
 */
export async function startsBench(session: BenchSession, options: StartsOptions): Promise<BenchOutcome> {
  // The session's stack runs no worker of its own: the runs stay in their task queue.
  const { stack, client } = session;
  const pids = session.pids({});
  const measured = async <T extends Omit<SideResult, 'processes'>>(run: () => Promise<T>): Promise<SideResult> => {
    const sampler = new ProcessSampler(pids, WITH_DESCENDANTS);
    const result = await run();
    return { ...result, processes: sampler.stop() };
  };

  log(`starts: warm-up ${options.warmUpS} s each side`);
  await bareStarts(client, options.warmUpS * 1000, options.concurrency);
  await gatewayStarts(stack.gateway, options.warmUpS, options.concurrency);

  const phases: { label: string; rate?: number }[] = [
    { label: `${options.rate} req/s`, rate: options.rate },
    { label: 'max' },
  ];
  const results: { label: string; bare: SideResult; gateway: SideResult }[] = [];
  for (const phase of phases) {
    log(`starts: ${phase.label}, ${options.durationS} s bare loop, then ${options.durationS} s gateway`);
    const bare = await measured(() => bareStarts(client, options.durationS * 1000, options.concurrency, phase.rate));
    const gateway = await measured(() =>
      gatewayStarts(stack.gateway, options.durationS, options.concurrency, phase.rate),
    );
    results.push({ label: phase.label, bare, gateway });
  }

  const rows: Row[] = [];
  // Per group: the dev server, or the four server processes; PostgreSQL with it (the store of every start).
  const cpuPerRequest = (side: SideResult, group: 'gateway' | 'temporal' | 'bench') => {
    const cpu = Object.entries(side.processes)
      .filter(([name]) => {
        const of = processGroup(name);
        return group === 'temporal' ? of === 'Temporal server' || of === 'PostgreSQL' : of === group;
      })
      .reduce((sum, [, usage]) => sum + (usage.cpuSeconds ?? 0), 0);
    return side.requests === 0 ? '–' : ((cpu * 1e6) / side.requests).toFixed(0);
  };
  for (const { label, bare, gateway } of results) {
    for (const [side, r] of [
      ['(a) client.workflow.start', bare],
      ['(b) gateway POST', gateway],
    ] as const) {
      rows.push({ metric: `${label} ${side}: req/s`, unit: 'req/s', value: Math.round(r.reqPerSec) });
      rows.push({
        metric: `${label} ${side}: latency`,
        unit: 'ms',
        summary: {
          n: r.requests,
          min: r.latencyMs.min,
          median: r.latencyMs.p50,
          p99: r.latencyMs.p99,
          max: r.latencyMs.max,
          mean: Number.NaN,
        },
      });
      rows.push({
        metric: `${label} ${side}: CPU µs/req gateway / Temporal+store / bench`,
        unit: 'µs',
        value: `${cpuPerRequest(r, 'gateway')} / ${cpuPerRequest(r, 'temporal')} / ${cpuPerRequest(r, 'bench')}`,
      });
      if (r.errors > 0) rows.push({ metric: `${label} ${side}: errors`, unit: 'count', value: r.errors });
    }
    rows.push({
      metric: `${label} ratio b/a (req/s)`,
      unit: '×',
      value: Math.round((gateway.reqPerSec / bare.reqPerSec) * 100) / 100,
    });
  }
  const [fixed, max] = results;
  const notes = [
    `target ratio b/a ≥ 0.8 at full speed: ${max && max.gateway.reqPerSec / max.bare.reqPerSec >= 0.8 ? 'met' : 'MISSED'} (${max ? (max.gateway.reqPerSec / max.bare.reqPerSec).toFixed(2) : '–'})`,
    `target gateway p99 ≤ 50 ms at ${options.rate} req/s: ${fixed && fixed.gateway.latencyMs.p99 <= 50 ? 'met' : 'MISSED'} (${fixed?.gateway.latencyMs.p99 ?? '–'} ms)`,
    ...results.flatMap(({ label, bare, gateway }) =>
      [
        bare.firstError && `${label} (a) errors: ${bare.firstError}`,
        gateway.firstError && `${label} (b) errors: ${gateway.firstError}`,
      ].filter((n): n is string => Boolean(n)),
    ),
    ...(fixed
      ? [
          `offered ${options.rate} req/s; achieved (a) ${fixed.bare.reqPerSec.toFixed(0)}, (b) ${fixed.gateway.reqPerSec.toFixed(0)} req/s`,
        ]
      : []),
    'the bench process (autocannon or the bare loop) shares the cores with Temporal and the gateway',
  ];
  return {
    name: `starts-${session.engine}`,
    title: `Gateway starts side by side on ${session.engine}: concurrency ${options.concurrency}, ${options.durationS} s per side, no worker`,
    rows,
    notes,
    figures: { options, phases: results },
  };
}
