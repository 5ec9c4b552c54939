export { startSimulator, type StartSimulatorOptions, type RunningSimulator } from './server';
export { createSimulatorApp, type SimulatorAppDependencies } from './app';
export {
  ConfigError,
  DEFAULT_CONFIG,
  loadConfigFromEnv,
  resolveConfig,
  type FaultSettings,
  type LogLevel,
  type SimulatorConfig,
  type SimulatorConfigOverrides,
  type SimulatorEnvVariable,
} from './config';
export { createFaultInjector, type FaultInjector, type FaultPlan, type FaultUpdate, type FaultView } from './faults';
export { openLockStore, type JournalEntry, type LockStore, type StoredKey } from './store';
export { type ErrorBody } from './errors';
