/**
 * The history fold against real recorded runs (packages/workflows/histories): the histories the determinism guard
 * replays are the ones a GET reads while no worker answers. Each run's own result (or the state it carried into its
 * next run) is the truth the fold must reach; every prefix of a history is what a GET would see mid-run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  BULK_ADD_KEYS_WORKFLOW,
  keyOutcomes,
  type BulkAddKeysInput,
  type BulkAddKeysProgress,
  type BulkAddKeysState,
  type KeyProgress,
} from '@lockkeys/contracts';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { progressFromHistory } from './run-history';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;

const decode = (payload: Payload): unknown => defaultPayloadConverter.fromPayload(payload);
const fold = (events: readonly HistoryEvent[]) => progressFromHistory(events, decode);

// The recordings of packages/workflows, read as data (that package depends on this one, not the other way round).
const HISTORIES_DIR = join(__dirname, '..', '..', 'workflows', 'histories');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return jsonFiles(path);
    return entry.name.endsWith('.json') ? [path] : [];
  });
}

interface Fixture {
  /** Path under histories/, e.g. `timer-loop/dev/happy-path.json`. */
  name: string;
  events: HistoryEvent[];
}

const fixtures: Fixture[] = jsonFiles(HISTORIES_DIR)
  .map((path) => ({
    name: relative(HISTORIES_DIR, path),
    events: historyFromJSON(JSON.parse(readFileSync(path, 'utf8'))).events ?? [],
  }))
  .filter(
    ({ events }) => events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name === BULK_ADD_KEYS_WORKFLOW,
  );

const lastEvent = (fixture: Fixture) => fixture.events[fixture.events.length - 1];
const firstPayload = (payloads: { payloads?: Payload[] | null } | null | undefined): unknown => {
  const payload = payloads?.payloads?.[0];
  if (payload === undefined) throw new Error('no payload');
  return decode(payload);
};
const startOf = (fixture: Fixture) =>
  firstPayload(fixture.events[0]?.workflowExecutionStartedEventAttributes?.input) as
    BulkAddKeysInput | BulkAddKeysState;
/** The keys as the run started from them: every key pending for a first run, the carried state after. */
const initialKeys = (fixture: Fixture): KeyProgress[] => {
  const start = startOf(fixture);
  return 'settings' in start
    ? start.keys
    : start.keys.map((key) => ({ ...key, status: 'pending', attempts: 0, error: null }));
};
const resultOf = (fixture: Fixture) =>
  firstPayload(lastEvent(fixture)?.workflowExecutionCompletedEventAttributes?.result) as BulkAddKeysProgress;
const carriedOut = (fixture: Fixture) =>
  firstPayload(lastEvent(fixture)?.workflowExecutionContinuedAsNewEventAttributes?.input) as BulkAddKeysState;

const completed = fixtures.filter((f) => lastEvent(f)?.workflowExecutionCompletedEventAttributes);
const continued = fixtures.filter((f) => lastEvent(f)?.workflowExecutionContinuedAsNewEventAttributes);
const cancelled = fixtures.filter((f) => lastEvent(f)?.workflowExecutionCanceledEventAttributes);

/** What a status body shows of a key (the API's own projection). */
const outcome = (key: KeyProgress) => keyOutcomes([key])[0]!;
const isFinal = (key: KeyProgress) => key.status === 'added' || key.status === 'failed';

/**
 * When the history shows each of this run's `addKey` commands: `window` is the prefixes (by length) in which the
 * command may be at the lock without an outcome recorded yet, `settledFrom` the first prefix that holds its outcome.
 * Found from the events alone, independently of the fold: a regular activity names its key in its input; a local
 * activity's marker is written when the workflow task that ran it completes, and keys go in request order.
 */
interface Command {
  keyUuid: string;
  window: [first: number, last: number];
  settledFrom: number;
}

function commandsOf(fixture: Fixture, finalKeys: readonly KeyProgress[]): Command[] {
  const { events } = fixture;
  const before = new Map(initialKeys(fixture).map((key) => [key.keyUuid, key]));
  // The keys this run sent, in request order: open when it started, and commands were counted for them.
  const sent = finalKeys.filter((key) => before.get(key.keyUuid)?.status === 'pending' && key.attempts > 0);
  const commands: Command[] = [];
  const scheduled = new Map<string, { keyUuid: string; at: number }>();
  const lastBefore = (index: number, has: (event: HistoryEvent) => unknown) => {
    for (let i = index - 1; i >= 0; i--) if (has(events[i]!)) return i;
    throw new Error(`${fixture.name}: no matching event before #${index + 1}`);
  };
  events.forEach((event, index) => {
    const marker = event.markerRecordedEventAttributes;
    const data = marker?.details?.data;
    if (marker?.markerName === 'core_local_activity' && data) {
      if ((firstPayload(data) as { activity_type: string }).activity_type !== 'addKey') return;
      const taskCompleted = lastBefore(index, (e) => e.workflowTaskCompletedEventAttributes);
      const taskStarted = lastBefore(taskCompleted, (e) => e.workflowTaskStartedEventAttributes);
      const key = sent[commands.length];
      if (key === undefined) throw new Error(`${fixture.name}: more addKey commands than keys sent`);
      // Lengths of the prefixes that end with the task under way: its started event up to just before it completed.
      commands.push({ keyUuid: key.keyUuid, window: [taskStarted + 1, taskCompleted], settledFrom: index + 1 });
    }
    const scheduledAttributes = event.activityTaskScheduledEventAttributes;
    if (scheduledAttributes?.activityType?.name === 'addKey') {
      const { key } = firstPayload(scheduledAttributes.input) as { key: { keyUuid: string } };
      scheduled.set(String(event.eventId), { keyUuid: key.keyUuid, at: index });
    }
    const closed =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes;
    const command = closed && scheduled.get(String(closed.scheduledEventId));
    if (command) {
      expect([fixture.name, command.keyUuid]).toEqual([fixture.name, sent[commands.length]?.keyUuid]);
      commands.push({ keyUuid: command.keyUuid, window: [command.at + 1, index], settledFrom: index + 1 });
    }
  });
  expect([fixture.name, commands.length]).toEqual([fixture.name, sent.length]);
  return commands;
}

/** Where the run ended up: its result, the state it carried on, or (cancelled) its full fold as checked below. */
function finalKeysOf(fixture: Fixture): KeyProgress[] {
  if (completed.includes(fixture)) return resultOf(fixture).keys;
  if (continued.includes(fixture)) return carriedOut(fixture).keys;
  return fold(fixture.events).keys;
}

/** `happy-path.run2.json` → `timer-loop/dev/happy-path`, and its run number (1 when alone). */
const chainOf = (fixture: Fixture) => {
  const match = /^(.*?)(?:\.run(\d+))?\.json$/.exec(fixture.name)!;
  return { chain: match[1]!, run: Number(match[2] ?? 1) };
};
const chains = [...new Set(fixtures.map((f) => chainOf(f).chain))].map((chain) =>
  fixtures.filter((f) => chainOf(f).chain === chain).sort((a, b) => chainOf(a).run - chainOf(b).run),
);
const names = (list: Fixture[]) => list.map((f) => f.name);

test('the recorded runs cover completed, cancelled and continued-as-new runs', () => {
  const scenarios = (list: Fixture[]) => new Set(list.map((f) => chainOf(f).chain.split('/').pop()));
  for (const scenario of ['happy-path', 'failed-key', 'retries', 'unknown-lock', 'waiting-for-lock']) {
    expect([scenario, scenarios(completed).has(scenario)]).toEqual([scenario, true]);
  }
  expect(scenarios(cancelled).has('cancel')).toBe(true);
  expect(names(continued).some((name) => name.includes('continue-as-new.run1'))).toBe(true);
  expect(chains.some((chain) => chain.length >= 3)).toBe(true);
  // Every bulkAddKeys fixture closed one of these three ways.
  expect(completed.length + continued.length + cancelled.length).toBe(fixtures.length);
});

describe.each(completed.map((f) => [f.name, f] as const))('%s (completed)', (_name, fixture) => {
  test("the fold of the whole history is the run's own result", () => {
    const result = resultOf(fixture);
    const progress = fold(fixture.events);
    expect(progress.keys.map(outcome)).toEqual(result.keys.map(outcome));
    expect(progress.summary).toEqual(result.summary);
    expect(progress.lockId).toBe(result.lockId);
    expect(progress.createdAt).toBe(result.createdAt);
  });
});

describe.each(cancelled.map((f) => [f.name, f] as const))('%s (cancelled)', (_name, fixture) => {
  test('keys the lock confirmed before the cancel stay added; every other key is cancelled', () => {
    const progress = fold(fixture.events);
    const cancelAt = fixture.events.findIndex((e) => e.workflowExecutionCancelRequestedEventAttributes);
    expect(cancelAt).toBeGreaterThan(0);
    // The keys whose outcome was recorded before the cancel request, by the history alone.
    const confirmed = commandsOf(fixture, progress.keys)
      .filter((command) => command.settledFrom <= cancelAt)
      .map((command) => command.keyUuid);
    // A run cancelled mid-run had keys at the lock; one cancelled while it waited for the lock, none.
    if (fixture.name.includes('cancel-queued')) expect(confirmed).toEqual([]);
    else expect(confirmed.length).toBeGreaterThan(0);
    expect(progress.keys.length).toBeGreaterThan(confirmed.length);
    for (const key of progress.keys) {
      expect([key.keyUuid, key.status]).toEqual([key.keyUuid, confirmed.includes(key.keyUuid) ? 'added' : 'cancelled']);
    }
    expect(progress.summary).toEqual({
      total: progress.keys.length,
      added: confirmed.length,
      failed: 0,
      pending: 0,
      cancelled: progress.keys.length - confirmed.length,
    });
  });
});

describe.each(fixtures.map((f) => [f.name, f] as const))('%s, every prefix', (_name, fixture) => {
  const finalKeys = finalKeysOf(fixture);
  const commands = commandsOf(fixture, finalKeys);
  const final = new Map(finalKeys.map((key) => [key.keyUuid, key]));
  const carried = initialKeys(fixture).filter(isFinal);
  const prefixes = Array.from({ length: fixture.events.length }, (_, i) => i + 1);

  test('a key the lock has confirmed is never pending: its recorded outcome shows from its event on', () => {
    for (const length of prefixes) {
      const keys = new Map(fold(fixture.events.slice(0, length)).keys.map((key) => [key.keyUuid, key]));
      for (const command of commands.filter((c) => c.settledFrom <= length)) {
        const key = keys.get(command.keyUuid);
        expect([length, key && outcome(key)]).toEqual([length, outcome(final.get(command.keyUuid)!)]);
      }
      for (const command of commands.filter((c) => c.settledFrom > length)) {
        expect([length, command.keyUuid, ['pending', 'adding'].includes(keys.get(command.keyUuid)!.status)]).toEqual([
          length,
          command.keyUuid,
          true,
        ]);
      }
    }
  });

  test('a command that may be at the lock shows as adding, and its run as running', () => {
    let checked = 0;
    for (const command of commands) {
      for (let length = command.window[0]; length <= command.window[1]; length++) {
        const progress = fold(fixture.events.slice(0, length));
        const key = progress.keys.find((k) => k.keyUuid === command.keyUuid);
        expect([length, command.keyUuid, key?.status]).toEqual([length, command.keyUuid, 'adding']);
        // Only the run that holds the lock sends: a GET must not call it queued while its command is at the lock.
        expect([length, progress.phase]).toEqual([length, 'running']);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(commands.length);
  });

  test('what earlier runs settled shows from the first event on, and never changes', () => {
    for (const length of prefixes) {
      const keys = new Map(fold(fixture.events.slice(0, length)).keys.map((key) => [key.keyUuid, key]));
      for (const key of carried) expect([length, outcome(keys.get(key.keyUuid)!)]).toEqual([length, outcome(key)]);
      // A key no command went out for in this run is never reported added by it.
      for (const key of initialKeys(fixture).filter((k) => !isFinal(k))) {
        if (commands.some((c) => c.keyUuid === key.keyUuid)) continue;
        expect([length, key.keyUuid, keys.get(key.keyUuid)?.status]).not.toEqual([length, key.keyUuid, 'added']);
      }
    }
  });
});

describe.each(chains.filter((chain) => chain.length > 1).map((chain) => [chainOf(chain[0]!).chain, chain] as const))(
  '%s (continued as new)',
  (_name, chain) => {
    test("each run's first event already carries every earlier run's progress", () => {
      for (const [i, run] of chain.entries()) {
        if (i === 0) continue;
        const previous = chain[i - 1]!;
        const fromFirstEvent = fold(run.events.slice(0, 1));
        expect(fromFirstEvent.keys.map(outcome)).toEqual(carriedOut(previous).keys.map(outcome));
        // What the earlier run's own history says it settled is what the next run reports from its start.
        const settledBefore = fold(previous.events).keys.filter(isFinal).map(outcome);
        expect(settledBefore.length).toBeGreaterThan(0);
        expect(fromFirstEvent.keys.map(outcome)).toEqual(expect.arrayContaining(settledBefore));
        expect(fromFirstEvent.createdAt).toBe(fold(chain[0]!.events).createdAt);
      }
    });

    test("the last run's history lists every key of the request, with its outcome", () => {
      const request = startOf(chain[0]!).keys.map(({ keyUuid }) => keyUuid);
      const last = chain[chain.length - 1]!;
      const progress = fold(last.events);
      expect(progress.keys.map((key) => key.keyUuid)).toEqual(request);
      if (completed.includes(last)) expect(progress.keys.map(outcome)).toEqual(resultOf(last).keys.map(outcome));
    });
  },
);

test('a paused run reads paused from its history once the pause was processed, and not after the resume', () => {
  const run = fixtures.find((f) => /pause-resume(\.run1)?\.json$/.test(f.name));
  expect(run).toBeDefined();
  const { events } = run!;
  const signalled = (name: string) =>
    events.findIndex((e) => e.workflowExecutionSignaledEventAttributes?.signalName === name);
  const paused = signalled('pause');
  const resumed = signalled('resume');
  expect(0 < paused && paused < resumed).toBe(true);
  for (let length = paused + 1; length <= resumed; length++) {
    expect([length, fold(events.slice(0, length)).phase]).toEqual([length, 'paused']);
  }
  expect(fold(events.slice(0, resumed + 1)).phase).not.toBe('paused');
  expect(fold(events).phase).not.toBe('paused');
});
