/** Contracts of lockkeys: what the gateway, the worker, the workflows and the tests agree on. */
export * from './workflow';
export * from './run';
export * from './errors';
export * from './routes';
export * from './lock-backend';
export * from './dev-credentials';
export * from './webhooks-file';
