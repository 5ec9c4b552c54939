export { startSimulator, type StartSimulatorOptions, type RunningSimulator } from './server';
export { createSimulatorApp, type SimulatorAppDependencies } from './app';
export {
  ConfigError,
  DEFAULT_CONFIG,
  loadConfigFromEnv,
  resolveConfig,
  type LogLevel,
  type SimulatorConfig,
  type SimulatorConfigOverrides,
  type SimulatorEnvVariable,
} from './config';
export { createFaultInjector, type FaultInjector, type FaultPlan } from './faults';
export { openLockStore, type LockStore } from './store';
export type { ErrorBody, FaultSettings, FaultUpdate, FaultView, JournalEntry, LockSlot } from '@lockkeys/contracts';
