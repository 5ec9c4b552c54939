// Each drill file starts a whole stack and kills parts of it: one at a time on a 2-core machine.
module.exports = { ...require('../../jest.preset.js'), maxWorkers: 1, testTimeout: 300_000 };
