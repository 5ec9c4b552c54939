import { addedToAddedGaps, keyIndexes, keysFor, sleep } from '@lockkeys/testing';
import { GAP_MS, log, WITH_DESCENDANTS, type BenchSession } from './bench-stack';
import { checkJournals, describeCheck, type JournalCheck } from './checks';
import { cpuSplit, type CpuSplit } from './cost';
import { journalsOf, sampleHistories, type SampledHistories, type SampledRun } from './measure';
import { ProcessSampler, type ProcessUsage } from './proc';
import { ratio, summarize, type Summary } from './stats';
import type { VariantName } from './variants';

export interface FanoutOptions {
  /** Lock counts (the issue: 100, 200, 500). */
  levels: number[];
  keysPerLock: number;
  variants: VariantName[];
  /** How long one variant of one level may take before it is reported as broken, with its partial progress. */
  timeoutMs: number;
  /** Runs whose histories (and their locks' workflows') are counted. */
  historySample: number;
}

/** One variant at one level. */
export interface FanoutResult {
  variant: VariantName;
  locks: number;
  keysPerLock: number;
  runsStarted: number;
  startErrors: string[];
  timedOut: boolean;
  /** First POST (or start) → the last key's command at its lock. */
  elapsedMs: number;
  /** (keys − 1) gaps: what the gap alone costs. */
  idealMs: number;
  keysPerSecond: number;
  /** All POSTs (starts) answered. */
  allStartedMs: number;
  startLatencyMs: Summary;
  firstCommandMs: Summary;
  /** Gap between two added keys of one lock minus the gap, under this load. */
  gapOverheadMs: Summary;
  check: JournalCheck;
  histories: SampledHistories;
  cpu: CpuSplit;
  processes: Record<string, ProcessUsage>;
  /** Locks' workflows ended after the level (lockkeys). */
  locksEnded?: number;
  timeline: { atMs: number; runsClosed: number }[];
}

/** `locks` locks × `keysPerLock` keys of one variant, all started at once; measured from the journals. */
export async function fanoutOnce(
  session: BenchSession,
  variant: VariantName,
  locks: number,
  options: FanoutOptions,
): Promise<FanoutResult> {
  const label = `${session.engine} fanout ${locks} ${variant}`;
  return session.withWorkers(variant, async (workers) => {
    const lockIds = session.nextLockIds(locks);
    const sent = new Map(lockIds.map((lockId) => [lockId, keysFor(lockId, keyIndexes(options.keysPerLock), variant)]));
    const closedBefore = await session.closedRuns(variant);
    const sampler = new ProcessSampler(session.pids(workers), WITH_DESCENDANTS);

    const t0 = Date.now();
    const startLatency: number[] = [];
    const startErrors: string[] = [];
    const started = await Promise.all(
      lockIds.map(async (lockId) => {
        const sentAt = performance.now();
        const postedAt = Date.now();
        try {
          const workflowId = await session.startRun(variant, lockId, sent.get(lockId)!);
          startLatency.push(performance.now() - sentAt);
          return { workflowId, lockId, postedAt };
        } catch (error) {
          startErrors.push(error instanceof Error ? error.message : String(error));
          return undefined;
        }
      }),
    );
    const runs = started.filter((r): r is SampledRun => r !== undefined);
    const allStartedMs = Date.now() - t0;
    log(`${label}: ${runs.length} runs started in ${allStartedMs} ms (${startErrors.length} refused)`);

    // Progress from visibility: one count a second, not one request per lock.
    const timeline: { atMs: number; runsClosed: number }[] = [];
    let timedOut = false;
    for (;;) {
      const runsClosed = (await session.closedRuns(variant)) - closedBefore;
      timeline.push({ atMs: Date.now() - t0, runsClosed });
      if (runsClosed >= runs.length) break;
      if (Date.now() - t0 > options.timeoutMs) {
        timedOut = true;
        break;
      }
      if (timeline.length % 10 === 0) log(`${label}: ${runsClosed}/${runs.length} runs closed`);
      await sleep(1_000);
    }
    const processes = sampler.stop();

    const journals = await journalsOf(session, lockIds);
    // A refused POST started nothing (SPEC): its lock must have no command at all.
    const accepted = new Set(runs.map((r) => r.lockId));
    const check = checkJournals(
      journals,
      new Map([...sent].map(([lockId, keys]) => [lockId, accepted.has(lockId) ? keys.map((k) => k.keyUuid) : []])),
      GAP_MS,
    );
    const commands = [...journals.values()].flat();
    const lastAt = commands.reduce((latest, c) => Math.max(latest, c.at), t0);
    const elapsedMs = lastAt - t0;
    const histories = await sampleHistories(
      session,
      variant,
      runs.slice(0, options.historySample),
      options.keysPerLock,
      journals,
    );
    const locksEnded = variant === 'plain' ? undefined : await session.endLockWorkflows();
    const result: FanoutResult = {
      variant,
      locks,
      keysPerLock: options.keysPerLock,
      runsStarted: runs.length,
      startErrors: startErrors.slice(0, 10),
      timedOut,
      elapsedMs,
      idealMs: (options.keysPerLock - 1) * GAP_MS,
      keysPerSecond: Math.round((check.keysAdded / (elapsedMs / 1000)) * 10) / 10,
      allStartedMs,
      startLatencyMs: summarize(startLatency),
      firstCommandMs: summarize([...journals.values()].filter((j) => j.length > 0).map((j) => j[0]!.at - t0)),
      gapOverheadMs: summarize([...journals.values()].flatMap((j) => addedToAddedGaps(j).map((g) => g - GAP_MS))),
      check,
      histories,
      cpu: cpuSplit(processes, check.keysAdded),
      processes,
      ...(locksEnded && { locksEnded: locksEnded.ended }),
      timeline,
    };
    log(
      `${label}: ${elapsedMs} ms, ${result.keysPerSecond} keys/s, journal ${describeCheck(check)}` +
        (locksEnded ? `, ${locksEnded.ended} lock workflows ended` : ''),
    );
    return result;
  });
}

/** Every level, every variant, one after another on the session's stack. */
export async function fanoutBench(session: BenchSession, options: FanoutOptions): Promise<FanoutResult[]> {
  const results: FanoutResult[] = [];
  for (const locks of options.levels) {
    for (const variant of options.variants) results.push(await fanoutOnce(session, variant, locks, options));
  }
  return results;
}

/** elapsed(lockkeys) / elapsed(plain) at the same level, when both ran. */
export function fanoutRatio(results: readonly FanoutResult[], result: FanoutResult): number | undefined {
  const plain = results.find((r) => r.variant === 'plain' && r.locks === result.locks);
  return plain && result.variant !== 'plain' ? ratio(result.elapsedMs, plain.elapsedMs) : undefined;
}
