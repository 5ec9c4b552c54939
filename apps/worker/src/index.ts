/** The lockkeys worker: configuration and factory (main.ts runs it). */
export * from './config';
export * from './worker';
