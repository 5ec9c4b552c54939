// End-to-end suites each start a whole stack: one at a time on a 2-core machine.
module.exports = { ...require('../../jest.preset.js'), maxWorkers: 1, testTimeout: 180_000 };
