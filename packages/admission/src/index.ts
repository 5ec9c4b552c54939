/** The client side of a run's admission at its lock, and what Temporal being unreachable looks like. */
export * from './admission';
export { isTemporalUnavailable } from './unavailable';
