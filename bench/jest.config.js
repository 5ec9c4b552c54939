// Only the unit tests of the bench helpers run under Jest; the benchmarks themselves run via `pnpm bench`.
module.exports = require('../jest.preset.js');
