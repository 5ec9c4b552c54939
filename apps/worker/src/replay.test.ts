import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The replay command as an operator runs it, on the recorded fixtures and on a tampered copy. */
const HISTORIES = join(
  require.resolve('@lockkeys/workflows/workflow-bundle'),
  '..',
  '..',
  'histories',
  'lock-admission',
  'dev',
);
const replay = (...args: string[]) =>
  spawnSync(process.execPath, [join(__dirname, '..', 'dist', 'replay.js'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });

test('recorded histories replay: exit 0, one ok line each', () => {
  const files = readdirSync(HISTORIES).filter((f) => f.startsWith('happy-path') || f.startsWith('cancel'));
  const result = replay(...files.map((f) => join(HISTORIES, f)));
  expect(result.stdout).toContain(`${files.length} replayed, 0 diverged`);
  expect(result.status).toBe(0);
});

test('a history that the current code would not produce: exit 1 with the divergence', () => {
  const history = JSON.parse(readFileSync(join(HISTORIES, 'remote-activities.run1.json'), 'utf8')) as {
    events: { eventType: string; activityTaskScheduledEventAttributes?: { activityType: { name: string } } }[];
  };
  // The history says the run scheduled another activity than the code does.
  const scheduled = history.events.filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED');
  scheduled[scheduled.length - 1]!.activityTaskScheduledEventAttributes!.activityType.name = 'removeKey';
  const file = join(mkdtempSync(join(tmpdir(), 'replay-')), 'tampered.json');
  writeFileSync(file, JSON.stringify(history));
  const result = replay(file);
  expect(result.stdout).toMatch(/FAIL tampered\.json\n {2}.*[Nn]ondetermin.*removeKey/);
  expect(result.stdout).toContain('0 replayed, 1 diverged');
  expect(result.status).toBe(1);
});

test('no arguments: usage and exit 2', () => {
  const result = replay();
  expect(result.stderr).toContain('usage: npm run replay -- ');
  expect(result.status).toBe(2);
});

test('a bad Temporal variable: one line naming it, exit 2, nothing contacted', () => {
  const result = spawnSync(
    process.execPath,
    [join(__dirname, '..', 'dist', 'replay.js'), '--workflow-id', 'lock-1-x'],
    { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH, TEMPORAL_ADDRESS: 'no-port' } },
  );
  expect(result.stderr).toBe('replay: TEMPORAL_ADDRESS must be host:port (got "no-port")\n');
  expect(result.status).toBe(2);
});
