import { parseAuthBenchOutput } from './auth';

test('reads the rows of the gateway auth bench table and skips its title and header', () => {
  const stdout = [
    'auth path on one core — Node v20.20.2, 1000 ms per case',
    '',
    'case                          ops/s     µs/op',
    'HS256 verify, KeyObject      61,234      16.3',
    'reject non-JWT bearer (401)  1,234,567     0.8',
    '',
  ].join('\n');
  expect(parseAuthBenchOutput(stdout)).toEqual([
    { name: 'HS256 verify, KeyObject', opsPerSecond: 61234, microsPerOp: 16.3 },
    { name: 'reject non-JWT bearer (401)', opsPerSecond: 1234567, microsPerOp: 0.8 },
  ]);
});
