import { startService } from './service';

const node = process.execPath;

test('waits for the ready line, forwards output, and stops the process by its pid', async () => {
  const lines: string[] = [];
  const service = await startService(
    {
      name: 'sleeper',
      command: node,
      args: [
        '-e',
        "console.log('booting'); setTimeout(() => console.log('ready now'), 200); setInterval(() => {}, 1000)",
      ],
      env: process.env,
      readyLine: /ready now/,
      readyTimeoutMs: 5_000,
    },
    (name, line) => lines.push(`${name}: ${line}`),
  );
  expect(lines).toEqual(['sleeper: booting', 'sleeper: ready now']);
  expect(() => process.kill(service.pid, 0)).not.toThrow();
  await service.stop();
  expect(() => process.kill(service.pid, 0)).toThrow();
});

test('a process that exits before it is ready is an error with its last output', async () => {
  await expect(
    startService(
      {
        name: 'crasher',
        command: node,
        args: ['-e', "console.error('bad config: PORT'); process.exit(3)"],
        env: process.env,
        readyLine: /never/,
      },
      () => undefined,
    ),
  ).rejects.toThrow(/crasher exited with code 3 before it was ready:\nbad config: PORT/);
});

test('a process that ignores SIGTERM is killed after the stop timeout', async () => {
  const service = await startService(
    {
      name: 'stubborn',
      command: node,
      args: ['-e', "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)"],
      env: process.env,
      readyLine: /up/,
      stopTimeoutMs: 300,
    },
    () => undefined,
  );
  await service.stop();
  await expect(service.exited).resolves.toBeNull();
});
