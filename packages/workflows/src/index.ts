/** Workflow code of lockkeys; the build bundles this file for the worker. */
export { bulkAddKeys } from './bulk-add-keys';
export { lockMutex } from './lock-mutex';
