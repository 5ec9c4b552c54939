/** The production engine of `npm run dev -- --engine=postgres`: PostgreSQL, four Temporal server processes, the Web UI. */
export * from './binaries';
export * from './cluster';
export * from './engine';
export * from './ports';
export * from './server-config';
