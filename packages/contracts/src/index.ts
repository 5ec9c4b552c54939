/** Contracts of lockkeys: what the gateway, the worker and the workflows agree on. */
export * from './workflow';
export * from './http';
export * from './dev-credentials';
export * from './lock-backend';
