import type { Engine } from './bench-stack';
import { describeCheck } from './checks';
import { PROCESS_GROUPS, type CpuSplit } from './cost';
import { fanoutRatio, type FanoutResult } from './fanout';
import { GAP_PARTS, START_PARTS } from './history';
import type { SampledHistories } from './measure';
import type { OverheadResult } from './overhead';
import type { Grid } from './report';
import { ratio } from './stats';
import { VARIANT_LABEL, type VariantName } from './variants';

/** Ratios are judged against 1.0 and 2.0: print them with two decimals, never rounded onto the target. */
const twoDecimals = (value: number | undefined) => (value === undefined ? '' : value.toFixed(2));
const round1 = (value: number) => (Number.isFinite(value) ? Math.round(value * 10) / 10 : Number.NaN);

/** Process columns in a stable order: Temporal's, PostgreSQL, workers, the rest. */
function processColumns(splits: readonly CpuSplit[]): string[] {
  const names = new Set(splits.flatMap((s) => Object.keys(s.processes)));
  const rank = (name: string) => {
    const order = ['temporal', 'temporal-frontend', 'temporal-history', 'temporal-matching', 'temporal-worker'];
    const fixed = order.indexOf(name);
    if (fixed >= 0) return fixed;
    if (name === 'temporal-ui') return 5;
    if (name === 'postgres') return 6;
    if (name.startsWith('lockkeys-worker')) return 7;
    if (name === 'plain-worker') return 8;
    return name === 'bench' ? 11 : 9;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** The "where the cost goes" grids of labelled measurements: history counts, CPU by process in s and ms/key. */
export function costGrids(
  title: string,
  items: readonly { label: string; histories: SampledHistories; cpu: CpuSplit }[],
): Grid[] {
  const history: Grid = {
    title: `${title}: history per run (run + its lock's workflow) and per key, from the histories of a sample`,
    header: [
      'measurement',
      'runs',
      'events/run',
      'events/key',
      'WFT/run',
      'WFT/key',
      'act tasks/run',
      'local acts/run',
      'timers/run',
      'lock events/run',
      'lock WFT/run',
      'WFT s2s p50',
      'WFT s2s p99',
    ],
    rows: items.map(({ label, histories: h }) => [
      label,
      h.cost.runsSampled,
      h.cost.perRun.events,
      h.cost.perKey.events,
      h.cost.perRun.workflowTasks,
      h.cost.perKey.workflowTasks,
      h.cost.perRun.activityTasks,
      h.cost.perRun.localActivities,
      h.cost.perRun.timers,
      h.cost.helpers.events,
      h.cost.helpers.workflowTasks,
      round1(h.workflowTaskScheduleToStartMs.median),
      round1(h.workflowTaskScheduleToStartMs.p99),
    ]),
    notes: ['WFT = workflow tasks started; s2s = schedule-to-start of the runs’ workflow tasks (ms)'],
  };
  const columns = processColumns(items.map((i) => i.cpu));
  const cpuGrid = (unit: 'cpuSeconds' | 'msPerKey', what: string): Grid => ({
    title: `${title}: CPU ${what}, per process (PostgreSQL with all its backends)`,
    header: ['measurement', ...columns, 'total'],
    rows: items.map(({ label, cpu }) => [
      label,
      ...columns.map((c) => (cpu.processes[c] ? cpu.processes[c]![unit] : undefined)),
      cpu.total[unit],
    ]),
  });
  const groups: Grid = {
    title: `${title}: CPU ms per key by group`,
    header: ['measurement', ...PROCESS_GROUPS.filter((g) => g !== 'other'), 'total'],
    rows: items.map(({ label, cpu }) => [
      label,
      ...PROCESS_GROUPS.filter((g) => g !== 'other').map((g) => cpu.groups[g]?.msPerKey),
      cpu.total.msPerKey,
    ]),
  };
  const startParts = START_PARTS.filter((part) => items.some((i) => i.histories.startMs[part] !== undefined));
  const start: Grid = {
    title: `${title}: POST (start) → first command at the lock, by part (median / p99 ms, history sample)`,
    header: ['measurement', ...startParts],
    rows: items.map(({ label, histories: h }) => [
      label,
      ...startParts.map((part) => {
        const s = h.startMs[part];
        return s ? `${round1(s.median)} / ${round1(s.p99)}` : '';
      }),
    ]),
  };
  return [
    history,
    start,
    cpuGrid('cpuSeconds', 'seconds over the measurement'),
    cpuGrid('msPerKey', 'ms per key'),
    groups,
  ];
}

export function fanoutGrids(engine: Engine, results: readonly FanoutResult[]): Grid[] {
  const label = (r: FanoutResult) => `${r.locks} × ${r.keysPerLock} ${VARIANT_LABEL[r.variant]}`;
  const main: Grid = {
    title: `Fan-out on ${engine}: L locks × ${results[0]?.keysPerLock ?? 5} keys, all started at once (time: first POST → last key at its lock)`,
    header: [
      'level / variant',
      'runs',
      'time ms',
      'ideal',
      'keys/s',
      'lockkeys/plain',
      'start p99',
      '1st cmd p50',
      'gap−1000 p50',
      'p99',
      'journal',
    ],
    rows: results.map((r) => [
      label(r),
      `${r.runsStarted}/${r.locks}${r.timedOut ? ' BROKE' : ''}`,
      r.elapsedMs,
      r.idealMs,
      r.keysPerSecond,
      twoDecimals(fanoutRatio(results, r)),
      round1(r.startLatencyMs.p99),
      round1(r.firstCommandMs.median),
      round1(r.gapOverheadMs.median),
      round1(r.gapOverheadMs.p99),
      describeCheck(r.check),
    ]),
  };
  return [
    main,
    ...costGrids(
      `Fan-out on ${engine}`,
      results.map((r) => ({ label: label(r), ...r })),
    ),
  ];
}

export function overheadGrids(engine: Engine, results: readonly OverheadResult[]): Grid[] {
  const plain = results.find((r) => r.variant === 'plain');
  const main: Grid = {
    title: `Per-key overhead on ${engine}: ${results[0]?.rounds ?? 0} × (1 lock, ${results[0]?.keys ?? 0} keys); gap at the lock − KEY_COMMAND_GAP_MS`,
    header: [
      'variant',
      'gaps',
      'min',
      'median',
      'p99',
      'max',
      'median/plain',
      'p99/plain median',
      'addKey local/remote',
      'journal',
    ],
    rows: results.map((r) => [
      VARIANT_LABEL[r.variant],
      r.overheadMs.n,
      r.overheadMs.min,
      r.overheadMs.median,
      r.overheadMs.p99,
      r.overheadMs.max,
      twoDecimals(plain && ratio(r.overheadMs.median, plain.overheadMs.median)),
      twoDecimals(plain && ratio(r.overheadMs.p99, plain.overheadMs.median)),
      `${r.addKeyKinds.local}/${r.addKeyKinds.remote}`,
      describeCheck(r.check),
    ]),
  };
  const parts = GAP_PARTS.filter((part) => results.some((r) => r.breakdownMs[part] !== undefined));
  const breakdown: Grid = {
    title: `Per-key overhead on ${engine}: where each gap's overhead goes (median / p99 ms, parts add up to the overhead)`,
    header: ['part', ...results.map((r) => VARIANT_LABEL[r.variant])],
    rows: parts.map((part) => [
      part,
      ...results.map((r) => {
        const s = r.breakdownMs[part];
        return s ? `${round1(s.median)} / ${round1(s.p99)}` : '';
      }),
    ]),
    notes: results
      .filter((r) => r.roundsWithoutBreakdown > 0)
      .map((r) => `${VARIANT_LABEL[r.variant]}: ${r.roundsWithoutBreakdown} rounds without breakdown (retries)`),
  };
  return [
    main,
    breakdown,
    ...costGrids(
      `Per-key overhead on ${engine}`,
      results.map((r) => ({ label: VARIANT_LABEL[r.variant], ...r })),
    ),
  ];
}

/** One target of the issue, judged on one engine's figures. */
export interface Verdict {
  target: string;
  met: boolean | undefined;
  detail: string;
}

/** A fan-out level counts only when every run was accepted and ended within the timeout. */
const complete = (r: FanoutResult) => r.runsStarted === r.locks && !r.timedOut;
const incomplete = (r: FanoutResult) =>
  `${r.runsStarted}/${r.locks} runs accepted${r.timedOut ? ', not done before the timeout' : ''}`;

const judge = (target: string, value: boolean | undefined, detail: string): Verdict => ({ target, met: value, detail });

/** The issue's targets, judged from one run's figures on one engine (undefined: not measured in this run). */
export function verdicts(
  engine: Engine,
  fanout: readonly FanoutResult[],
  overhead: readonly OverheadResult[],
): Verdict[] {
  const out: Verdict[] = [];
  const lockkeys: VariantName[] = ['local', 'remote'];
  for (const variant of lockkeys) {
    for (const locks of [200, 500]) {
      const r = fanout.find((f) => f.variant === variant && f.locks === locks);
      const q = r && fanoutRatio(fanout, r);
      if (r !== undefined && q !== undefined)
        out.push(
          judge(
            `${engine}: fan-out ${locks} ${VARIANT_LABEL[variant]}/plain ≤ 1.0`,
            complete(r) && q <= 1,
            complete(r) ? `${q}` : `${q} over ${incomplete(r)}`,
          ),
        );
    }
    const at100 = fanout.find((f) => f.variant === variant && f.locks === 100);
    const at500 = fanout.find((f) => f.variant === variant && f.locks === 500);
    if (at100 && at500)
      out.push(
        judge(
          `${engine}: ${VARIANT_LABEL[variant]} keys/s at 500 ≥ at 100`,
          complete(at100) && complete(at500) && at500.keysPerSecond >= at100.keysPerSecond,
          `${at500.keysPerSecond} vs ${at100.keysPerSecond}${complete(at500) ? '' : ` (500: ${incomplete(at500)})`}`,
        ),
      );
    if (engine === 'postgres' && at500)
      out.push(
        judge(
          `postgres: ${VARIANT_LABEL[variant]} ≥ 50 keys/s (moonshot)`,
          complete(at500) && at500.keysPerSecond >= 50,
          `${at500.keysPerSecond} at 500 locks${complete(at500) ? '' : `, ${incomplete(at500)}`}`,
        ),
      );
    const plain = overhead.find((o) => o.variant === 'plain');
    const own = overhead.find((o) => o.variant === variant);
    if (plain && own) {
      out.push(
        judge(
          `${engine}: overhead median ${VARIANT_LABEL[variant]} ≤ plain's`,
          own.overheadMs.median <= plain.overheadMs.median,
          `${own.overheadMs.median} vs ${plain.overheadMs.median} ms`,
        ),
        judge(
          `${engine}: overhead p99 ${VARIANT_LABEL[variant]} ≤ 2 × plain median`,
          own.overheadMs.p99 <= 2 * plain.overheadMs.median,
          `${own.overheadMs.p99} vs ${2 * plain.overheadMs.median} ms`,
        ),
      );
    }
  }
  for (const r of fanout)
    if (r.runsStarted < r.locks)
      out.push(
        judge(
          `${engine}: fan-out ${r.locks} ${VARIANT_LABEL[r.variant]}: every POST accepted`,
          false,
          `${incomplete(r)}; first refusal: ${r.startErrors[0] ?? '?'}`.slice(0, 200),
        ),
      );
  for (const r of [...fanout, ...overhead])
    if (!r.check.clean)
      out.push(judge(`${engine}: journal of ${VARIANT_LABEL[r.variant]}`, false, describeCheck(r.check)));
  return out;
}

export const verdictGrid = (title: string, list: readonly Verdict[]): Grid => ({
  title,
  header: ['target', 'met', 'figures'],
  rows: list.map((v) => [v.target, v.met === undefined ? '–' : v.met ? 'yes' : 'NO', v.detail]),
});
