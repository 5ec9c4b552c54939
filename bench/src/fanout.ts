import { BULK_ADD_KEYS_WORKFLOW, lockMutexWorkflowId, type JournalEntry } from '@lockkeys/contracts';
import {
  addedToAddedGaps,
  histogramBucketBound,
  histogramOf,
  histogramQuantile,
  journalGaps,
  keyIndexes,
  keysFor,
  mapLimit,
  sampleValue,
  sleep,
  subtractHistogram,
  type PromSample,
} from '@lockkeys/testing';
import { describeTuning, log, withStack, type StackTuning } from './bench-stack';
import { scheduleToStart } from './history';
import { ProcessSampler } from './proc';
import type { Row } from './report';
import { summarize } from './stats';
import type { BenchOutcome } from './types';

export interface FanoutOptions {
  /** Lock counts, one stack each (the issue: 100, 200, 500). */
  locks: number[];
  keysPerLock: number;
  gapMs: number;
  /** How long one level may take before it is reported as broken, with its partial progress. */
  timeoutMs: number;
  /** Histories fetched after the run for exact schedule-to-start figures. */
  historySample: number;
  stack: StackTuning;
}

/** The SDK's histograms of interest (milliseconds; its buckets start at 100 ms, so p50s inside them are estimates). */
const SDK_HISTOGRAMS = {
  workflowTaskScheduleToStart: 'temporal_workflow_task_schedule_to_start_latency',
  activityScheduleToStart: 'temporal_activity_schedule_to_start_latency',
  workflowTaskExecution: 'temporal_workflow_task_execution_latency',
} as const;

function sdkFigures(before: PromSample[], after: PromSample[]) {
  const figures: Record<
    string,
    { p50: number; p99: number; p50AtMost: number; p99AtMost: number; mean: number; count: number }
  > = {};
  for (const [label, name] of Object.entries(SDK_HISTOGRAMS)) {
    const h = subtractHistogram(histogramOf(after, name), histogramOf(before, name));
    figures[label] = {
      p50: histogramQuantile(h, 0.5),
      p99: histogramQuantile(h, 0.99),
      p50AtMost: histogramBucketBound(h, 0.5),
      p99AtMost: histogramBucketBound(h, 0.99),
      mean: h.count > 0 ? h.sum / h.count : Number.NaN,
      count: h.count,
    };
  }
  return figures;
}

const bound = (le: number) => (Number.isFinite(le) ? String(le) : '+Inf');

/** One level: `lockCount` locks × `keysPerLock` keys, all started at once through the gateway, one worker. */
export async function fanoutLevel(lockCount: number, options: FanoutOptions): Promise<BenchOutcome> {
  const env = {
    LOG_LEVEL: 'warn',
    KEY_COMMAND_GAP_MS: String(options.gapMs),
    LOCK_SIM_MIN_GAP_MS: String(options.gapMs),
    // The dev API key's budget (120/min) would turn most of the burst into 429s.
    RATE_LIMIT_PER_MINUTE: '1000000',
  };
  return withStack(`fanout-${lockCount}`, env, options.stack, async (stack) => {
    const client = await stack.temporalClient();
    const lockIds = Array.from({ length: lockCount }, (_, i) => i + 1);
    const before = await stack.workerMetrics();
    const sampler = new ProcessSampler(stack.pids());

    const t0 = Date.now();
    const acceptMs: number[] = [];
    const startErrors: string[] = [];
    const instanceIds = (
      await Promise.all(
        lockIds.map(async (lockId) => {
          const sentAt = performance.now();
          try {
            const { instanceId } = await stack.gateway.startRun(
              lockId,
              keysFor(lockId, keyIndexes(options.keysPerLock), 'fanout'),
            );
            acceptMs.push(performance.now() - sentAt);
            return instanceId;
          } catch (error) {
            startErrors.push(error instanceof Error ? error.message : String(error));
            return undefined;
          }
        }),
      )
    ).filter((id): id is string => id !== undefined);
    const allAcceptedMs = Date.now() - t0;
    log(
      `fanout ${lockCount}: ${instanceIds.length} runs accepted in ${allAcceptedMs} ms (${startErrors.length} refused)`,
    );

    // Progress from the worker's own counter and Temporal visibility: one request each per second, not one per lock.
    const timeline: { atMs: number; keysAdded: number; runsCompleted: number }[] = [];
    const expectedKeys = instanceIds.length * options.keysPerLock;
    let timedOut = false;
    for (;;) {
      const keysAdded = sampleValue(await stack.workerMetrics(), 'lockkeys_keys_added');
      const { count: runsCompleted } = await client.workflow.count(
        `WorkflowType = '${BULK_ADD_KEYS_WORKFLOW}' AND ExecutionStatus = 'Completed'`,
      );
      timeline.push({ atMs: Date.now() - t0, keysAdded, runsCompleted });
      if (timeline.length % 5 === 0)
        log(
          `fanout ${lockCount}: ${((Date.now() - t0) / 1000).toFixed(0)} s, ${keysAdded}/${expectedKeys} keys added, ${runsCompleted}/${instanceIds.length} runs complete`,
        );
      if (runsCompleted >= instanceIds.length && keysAdded >= expectedKeys) break;
      if (Date.now() - t0 > options.timeoutMs) {
        timedOut = true;
        break;
      }
      await sleep(1_000);
    }
    const usage = sampler.stop();
    const after = await stack.workerMetrics();

    const journals = await mapLimit(lockIds, 16, (lockId) => stack.simulator.journal(lockId));
    const commands: JournalEntry[] = journals.flat();
    const added = commands.filter((c) => c.status === 201).length;
    const lastAt = commands.reduce((latest, c) => Math.max(latest, c.at), t0);
    const firstCommandMs = journals.filter((j) => j.length > 0).map((j) => j[0]!.at - t0);
    // What each key cost beyond the gap while the worker was this busy (201 → 201, retries left out).
    const overheadPerKeyMs = journals.flatMap((j) => addedToAddedGaps(j).map((g) => g - options.gapMs));
    // Every command counts for the contract, a refused one (429) included.
    const undersizedGaps = journals.flatMap((j) => journalGaps(j)).filter((g) => g < options.gapMs).length;
    const retried = commands.filter((c) => c.status !== 201).length;
    const statuses: Record<string, number> = {};
    for (const c of commands) statuses[c.status] = (statuses[c.status] ?? 0) + 1;
    const elapsedMs = lastAt - t0;
    const idealMs = (options.keysPerLock - 1) * options.gapMs;

    const sampled = instanceIds.slice(0, options.historySample);
    const exact = { workflowTask: [] as number[], activity: [] as number[] };
    const eventsPerRun: number[] = [];
    await mapLimit(sampled, 8, async (id) => {
      const history = await client.workflow.getHandle(id).fetchHistory();
      eventsPerRun.push(history.events?.length ?? 0);
      const s2s = scheduleToStart(history);
      exact.workflowTask.push(...s2s.workflowTask);
      exact.activity.push(...s2s.activity);
    });
    const mutexExact = { workflowTask: [] as number[], activity: [] as number[] };
    await mapLimit(lockIds.slice(0, options.historySample), 8, async (lockId) => {
      const s2s = scheduleToStart(await client.workflow.getHandle(lockMutexWorkflowId(lockId)).fetchHistory());
      mutexExact.workflowTask.push(...s2s.workflowTask);
    });
    const sdk = sdkFigures(before, after);
    // The per-lock mutex is a workflow of its own: the worker carries two workflows per lock, not one.
    const { count: mutexes } = await client.workflow.count(`WorkflowType = 'lockMutex'`);
    const worker = usage.worker;
    const keysPerSecond = added / (elapsedMs / 1000);

    const rows: Row[] = [
      { metric: 'runs accepted (202)', unit: 'runs', value: `${instanceIds.length}/${lockCount}` },
      { metric: 'workflows: runs + lock mutexes', unit: 'count', value: `${instanceIds.length} + ${mutexes}` },
      { metric: 'POST → 202 (all at once)', unit: 'ms', summary: summarize(acceptMs) },
      { metric: 'keys added (journal 201)', unit: 'keys', value: `${added}/${lockCount * options.keysPerLock}` },
      {
        metric: timedOut ? `BROKE: not done in ${options.timeoutMs / 1000} s` : 'first POST → last key at lock',
        unit: 'ms',
        value: elapsedMs,
      },
      { metric: `ideal (${options.keysPerLock - 1} gaps + lock latency 0)`, unit: 'ms', value: idealMs },
      { metric: 'elapsed / ideal', unit: '×', value: Math.round((elapsedMs / idealMs) * 100) / 100 },
      { metric: 'keys/s', unit: 'keys/s', value: Math.round(keysPerSecond * 10) / 10 },
      { metric: 'first POST → lock’s first command', unit: 'ms', summary: summarize(firstCommandMs) },
      { metric: 'gap − KEY_COMMAND_GAP_MS under load', unit: 'ms', summary: summarize(overheadPerKeyMs) },
      { metric: 'wf task schedule-to-start (history)', unit: 'ms', summary: summarize(exact.workflowTask) },
      {
        metric: 'mutex wf task schedule-to-start (history)',
        unit: 'ms',
        summary: summarize(mutexExact.workflowTask),
      },
      { metric: 'activity schedule-to-start (history)', unit: 'ms', summary: summarize(exact.activity) },
      ...Object.entries(sdk).map(([label, f]) => ({
        metric: `${label} (SDK buckets)`,
        unit: 'ms',
        value: `p50 ≤ ${bound(f.p50AtMost)}, p99 ≤ ${bound(f.p99AtMost)}, mean ${f.mean.toFixed(0)}`,
      })),
      { metric: 'history events per run (sample)', unit: 'events', summary: summarize(eventsPerRun) },
      { metric: 'worker max RSS', unit: 'MiB', value: worker?.maxRssMiB ?? '–' },
      ...Object.entries(usage).map(([name, u]) => ({ metric: `CPU ${name}`, unit: 's', value: u.cpuSeconds ?? '–' })),
      {
        metric: 'commands not answered 201 (retries)',
        unit: 'count',
        value:
          retried === 0
            ? 0
            : `${retried} (${Object.entries(statuses)
                .map(([code, n]) => `${code}×${n}`)
                .join(', ')})`,
      },
      { metric: 'gaps under KEY_COMMAND_GAP_MS', unit: 'count', value: undersizedGaps },
    ];
    const withinTarget = !timedOut && elapsedMs <= 1.5 * idealMs;
    return {
      name: `fanout-${lockCount}`,
      title: `Fan-out: ${lockCount} locks × ${options.keysPerLock} keys at once, one worker, KEY_COMMAND_GAP_MS=${options.gapMs}`,
      rows,
      notes: [
        timedOut
          ? `BROKE at ${lockCount} locks: after ${options.timeoutMs / 1000} s only ${added}/${lockCount * options.keysPerLock} keys added, ${timeline.at(-1)?.runsCompleted ?? 0} runs complete`
          : `target ≤ 1.5 × ideal (${1.5 * idealMs} ms): ${withinTarget ? 'met' : 'MISSED'} (${elapsedMs} ms = ${(elapsedMs / idealMs).toFixed(2)} × ideal)`,
        `${startErrors.length} starts refused${startErrors[0] ? ` (first: ${startErrors[0]})` : ''}`,
      ],
      figures: {
        options: { ...options, lockCount, stack: describeTuning(options.stack) },
        timedOut,
        runsAccepted: instanceIds.length,
        startErrors: startErrors.slice(0, 10),
        acceptMs: summarize(acceptMs),
        allAcceptedMs,
        keysAdded: added,
        keysExpected: lockCount * options.keysPerLock,
        elapsedMs,
        idealMs,
        elapsedOverIdeal: elapsedMs / idealMs,
        keysPerSecond,
        firstCommandMs: summarize(firstCommandMs),
        overheadPerKeyMs: summarize(overheadPerKeyMs),
        undersizedGaps,
        retriedCommands: retried,
        commandStatuses: statuses,
        mutexWorkflows: mutexes,
        historyEventsPerRun: summarize(eventsPerRun),
        scheduleToStartFromHistoryMs: {
          runsSampled: sampled.length,
          workflowTask: summarize(exact.workflowTask),
          mutexWorkflowTask: summarize(mutexExact.workflowTask),
          activity: summarize(exact.activity),
        },
        sdkHistogramsMs: sdk,
        stickyCacheSize: sampleValue(after, 'temporal_sticky_cache_size'),
        processes: usage,
        timeline,
      },
    };
  });
}
