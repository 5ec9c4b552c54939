import type { AdmissionRequest, LockEntry, LockQueueState } from '@lockkeys/contracts/workflow';

/** What {@link LockBook.check} finds for an admission. */
export type AdmissionCheck =
  { kind: 'known'; entry: LockEntry } | { kind: 'new' } | { kind: 'full'; limit: number } | { kind: 'expired' };

/**
 * A lock's book: every run queued, running or paused on it, in acceptance order, who holds the lock, and when the
 * next command may go. Plain and synchronous, so every interleaving of admissions, grants, pauses and closes can be
 * tested without a server; the lock's workflow (`lock-queue.ts`) keeps one and carries its state across
 * continue-as-new.
 */
export class LockBook {
  constructor(readonly state: LockQueueState) {}

  get entries(): readonly LockEntry[] {
    return this.state.entries;
  }

  get holder(): LockEntry | undefined {
    return this.state.entries.find((entry) => entry.place === 'holding');
  }

  get isEmpty(): boolean {
    return this.state.entries.length === 0;
  }

  get timing(): { releasedAt: number; notBefore: number } {
    return { ...this.state.timing };
  }

  find(instanceId: string): LockEntry | undefined {
    return this.state.entries.find((entry) => entry.instanceId === instanceId);
  }

  /**
   * Whether a request may be admitted at workflow time `now`: one the book already holds is answered as it stands
   * (a retried or concurrent POST of the same instanceId, however full the lock is); a new one needs a free slot
   * and must come before its deadline.
   */
  check(request: Pick<AdmissionRequest, 'instanceId' | 'maxActiveRuns' | 'acceptBy'>, now: number): AdmissionCheck {
    const known = this.find(request.instanceId);
    if (known !== undefined) return { kind: 'known', entry: known };
    if (now > request.acceptBy) return { kind: 'expired' };
    if (this.state.entries.length >= request.maxActiveRuns) return { kind: 'full', limit: request.maxActiveRuns };
    return { kind: 'new' };
  }

  /**
   * Gives a run its place: a new one gets the lock at once when nobody holds it and nobody waits, else the end of
   * the queue. A known one keeps its place; its start window grows to the later POST's.
   */
  admit(
    request: Pick<AdmissionRequest, 'instanceId' | 'startBy' | 'requestHash' | 'nonce'>,
    ticket: string,
  ): LockEntry {
    const known = this.find(request.instanceId);
    if (known !== undefined) {
      known.startBy = Math.max(known.startBy, request.startBy);
      return known;
    }
    const free = this.holder === undefined && !this.state.entries.some((e) => e.place === 'queued');
    const { instanceId, startBy, requestHash, nonce } = request;
    const entry: LockEntry = { instanceId, ticket, place: free ? 'holding' : 'queued', startBy, requestHash, nonce };
    this.state.entries.push(entry);
    return entry;
  }

  /** Runs before `entry` at the lock: the holder and the queued runs ahead of it (0 for the holder). */
  ahead(entry: LockEntry): number {
    if (entry.place === 'holding') return 0;
    const queued = this.state.entries.filter((e) => e.place === 'queued');
    const before = entry.place === 'queued' ? queued.indexOf(entry) : queued.length;
    return (this.holder === undefined ? 0 : 1) + before;
  }

  /** The first queued run, made the holder, when nobody holds the lock. */
  grantNext(): LockEntry | undefined {
    if (this.holder !== undefined) return undefined;
    const next = this.state.entries.find((entry) => entry.place === 'queued');
    if (next !== undefined) next.place = 'holding';
    return next;
  }

  /** The run left the lock (paused) at lock time `now`: it keeps its slot; the lock is free, a gap later, if it held it. */
  pause(instanceId: string, ticket: string, now: number): void {
    const entry = this.find(instanceId);
    if (entry === undefined || entry.ticket !== ticket || entry.place === 'paused') return; // stale: it moved on
    if (entry.place === 'holding') this.releasedAt(now);
    entry.place = 'paused';
  }

  /**
   * A paused run queues again, at the end, with its new ticket. One the book does not know (its lock's workflow was
   * replaced) is taken back in: it is a live run, so the bound does not apply to it.
   */
  resume(run: Pick<LockEntry, 'instanceId' | 'ticket' | 'startBy' | 'requestHash' | 'nonce'>): void {
    const entry = this.find(run.instanceId);
    if (entry !== undefined && entry.place !== 'paused') return;
    const resumed = Object.assign(entry ?? { ...run }, { ticket: run.ticket, place: 'queued' as const });
    this.state.entries = [...this.state.entries.filter((e) => e !== entry), resumed];
  }

  /**
   * The run closed, or is gone: its slot is free, and so is the lock if it held it — a gap after `release.at` (it said
   * so), or not before `release.notBefore` (it vanished, its last command perhaps still at the lock).
   */
  remove(instanceId: string, release: { at: number } | { notBefore: number }): LockEntry | undefined {
    const entry = this.find(instanceId);
    if (entry === undefined) return undefined;
    if (entry.place === 'holding') {
      if ('at' in release) this.releasedAt(release.at);
      else this.state.timing.notBefore = Math.max(this.state.timing.notBefore, release.notBefore);
    }
    this.state.entries = this.state.entries.filter((e) => e !== entry);
    return entry;
  }

  private releasedAt(at: number): void {
    this.state.timing.releasedAt = Math.max(this.state.timing.releasedAt, at);
  }
}
