import { DEFAULT_PORTS, freePort, type StackPorts } from '@lockkeys/dev-stack';

export { listens } from '@lockkeys/dev-stack';

/** A free loopback port for every port of a stack (each one different), so suites never meet `npm run dev`. */
export async function freeStackPorts(): Promise<StackPorts> {
  const taken = new Set<number>();
  const ports: Record<string, number> = {};
  for (const name of Object.keys(DEFAULT_PORTS)) {
    let port = await freePort();
    // The OS may hand out a port again once its probe closed; a stack needs them all distinct.
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    ports[name] = port;
  }
  return ports as unknown as StackPorts;
}
