/** Workflow code of lockkeys; the worker bundles this file (`workflowsPath`). */
export { bulkAddKeys } from './bulk-add-keys';
