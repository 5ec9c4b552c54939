import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, type StackPorts } from '@lockkeys/dev-stack';

/** The repository root (tests run from the built tree). */
export const ROOT_DIR = resolve(__dirname, '..', '..', '..');

/** The simulator's dev token (LOCK_BACKEND_TOKEN default). */
export const LOCK_TOKEN = 'dev-lock-token';

/** Free loopback ports for a whole stack. */
export async function freePorts(): Promise<StackPorts> {
  return {
    temporal: await freePort(),
    temporalUi: await freePort(),
    simulator: await freePort(),
    gateway: await freePort(),
    workerHealth: await freePort(),
    workerMetrics: await freePort(),
  };
}

export const scratchDir = (prefix: string) => mkdtempSync(join(tmpdir(), `lockkeys-${prefix}-`));

/** One command in the simulator's journal. */
export interface JournalEntry {
  at: number;
  keyIndexNumber: number;
  keyUuid: string;
  status: number;
}

export async function journal(simulatorUrl: string, lockId: number): Promise<JournalEntry[]> {
  const response = await fetch(`${simulatorUrl}/locks/${lockId}/commands`, {
    headers: { authorization: `Bearer ${LOCK_TOKEN}` },
  });
  if (response.status !== 200) throw new Error(`journal of lock ${lockId}: ${response.status}`);
  return ((await response.json()) as { commands: JournalEntry[] }).commands;
}

export async function slots(
  simulatorUrl: string,
  lockId: number,
): Promise<{ keyIndexNumber: number; keyUuid: string }[]> {
  const response = await fetch(`${simulatorUrl}/locks/${lockId}/keys`, {
    headers: { authorization: `Bearer ${LOCK_TOKEN}` },
  });
  return ((await response.json()) as { keys: { keyIndexNumber: number; keyUuid: string }[] }).keys;
}

export const gaps = (entries: readonly JournalEntry[]) => entries.slice(1).map((entry, i) => entry.at - entries[i]!.at);

/** Polls `probe` until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
