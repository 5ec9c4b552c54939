/** The lockkeys HTTP gateway: authenticates callers, validates requests and starts `bulkAddKeys` runs. */
export * from './app';
export * from './config';
export * from './auth';
export * from './apikey';
export * from './server';
export * from './metrics';
export * from './openapi';
export * from './errors';
export * from './runs';
export * from './temporal';
