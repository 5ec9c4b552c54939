/**
 * Test support shared by every suite (units, e2e, drills, bench): whole stacks on free ports, the gateway and the
 * simulator as clients, keys, polling, Prometheus parsing, and the Temporal dev server.
 */
export * from './gateway';
export * from './http';
export * from './keys';
export * from './polling';
export * from './ports';
export * from './prometheus';
export * from './repo';
export * from './simulator';
export * from './stack';
export * from './temporal';
