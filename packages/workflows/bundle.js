// Build step: bundle the workflow code once (webpack via the SDK) into dist/workflow-bundle.js, so the worker
// and the replay tests load a prebuilt bundle instead of bundling at every start.
const { bundleWorkflowCode } = require('@temporalio/worker');
const { writeFile } = require('node:fs/promises');
const path = require('node:path');

async function main() {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'dist', 'index.js'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  await writeFile(path.join(__dirname, 'dist', 'workflow-bundle.js'), code);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
