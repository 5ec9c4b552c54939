import { DEFAULT_PORTS, portIsFree } from '@lockkeys/dev-stack';
import { freeStackPorts } from './ports';

test('a free, distinct loopback port for every port of the stack', async () => {
  const ports = await freeStackPorts();
  expect(Object.keys(ports).sort()).toEqual(Object.keys(DEFAULT_PORTS).sort());
  const values = Object.values(ports);
  expect(new Set(values).size).toBe(values.length);
  for (const port of values) {
    expect(Object.values(DEFAULT_PORTS)).not.toContain(port);
    expect(await portIsFree(port)).toBe(true);
  }
});
