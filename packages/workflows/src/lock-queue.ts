import type { LockAnswer, LockMutexState, LockTicket } from '@lockkeys/contracts/workflow';

/**
 * The lock mutex's book: who holds the lock, who waits, and when the next command may go. Plain and
 * synchronous, so every interleaving of asks, releases and grants can be tested without a server.
 */
export class LockQueue {
  constructor(readonly state: LockMutexState) {}

  get holder(): LockTicket | undefined {
    return this.state.holder;
  }

  get waiting(): number {
    return this.state.queue.length;
  }

  /** One ask: granted at once when nobody holds or waits, else a place at the end of the queue. */
  admit(ticket: LockTicket): LockAnswer {
    const { state } = this;
    if (state.holder?.ticket === ticket.ticket) return { granted: true, notBefore: state.notBefore }; // a retried ask
    if (state.queue.some((queued) => queued.ticket === ticket.ticket))
      return { granted: false, notBefore: state.notBefore };
    // One place per run: a newer ask replaces an older one of the same run.
    state.queue = state.queue.filter((queued) => queued.requesterId !== ticket.requesterId);
    if (state.holder?.requesterId === ticket.requesterId) state.holder = undefined;
    if (state.holder === undefined && state.queue.length === 0) {
      state.holder = ticket;
      return { granted: true, notBefore: state.notBefore };
    }
    state.queue.push(ticket);
    return { granted: false, notBefore: state.notBefore };
  }

  /** The holder gives the lock back (saying when the next command may go), or a waiting run leaves the queue. */
  release(ticket: string, notBefore: number): void {
    const { state } = this;
    if (state.holder?.ticket === ticket) {
      state.holder = undefined;
      state.notBefore = Math.max(state.notBefore, notBefore);
    } else {
      state.queue = state.queue.filter((queued) => queued.ticket !== ticket);
    }
  }

  /**
   * Makes the first waiting run the holder, before its grant signal goes out: a release that arrives while the
   * grant is in flight then releases the lock, instead of being taken for a run leaving the queue.
   */
  grantNext(): LockTicket | undefined {
    const next = this.state.queue.shift();
    this.state.holder = next;
    return next;
  }

  /** `holder` cannot be told (its run is gone) or was found gone: the lock is free, after `notBefore`. */
  forget(holder: LockTicket, notBefore = 0): void {
    if (this.state.holder?.ticket !== holder.ticket) return;
    this.state.holder = undefined;
    this.state.notBefore = Math.max(this.state.notBefore, notBefore);
  }
}
