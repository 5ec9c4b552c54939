/** A run's status body from Temporal, written once for the gateway's reads and the webhook deliveries. */
export * from './run-history';
export * from './status';
