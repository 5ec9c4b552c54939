import { startService, processAlive as alive } from './service';

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

describe("restart: 'unless-stopped'", () => {
  const forever = "console.log('up'); setInterval(() => {}, 1000)";
  const until = async (condition: () => boolean, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  test('a process killed from outside comes back with a new pid and one log line; stop() ends it for good', async () => {
    const lines: string[] = [];
    const service = await startService(
      {
        name: 'history',
        command: node,
        args: ['-e', forever],
        env: process.env,
        readyLine: /up/,
        restart: 'unless-stopped',
        restartDelayMs: 50,
      },
      (name, line) => lines.push(`[${name}] ${line}`),
    );
    const first = service.pid;
    process.kill(first, 'SIGKILL');
    await until(() => service.restarts === 1 && lines.filter((line) => line === '[history] up').length === 2);
    expect(lines).toContain('[lockkeys] history exited (signal SIGKILL); restarting');
    expect(service.pid).not.toBe(first);
    expect(alive(service.pid)).toBe(true);

    let exitedFor = 'not yet';
    void service.exited.then((code) => (exitedFor = `code ${code}`));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(exitedFor).toBe('not yet');

    const second = service.pid;
    await service.stop();
    expect(alive(second)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(service.restarts).toBe(1);
    expect(exitedFor).toBe('code null');
    expect(lines.filter((line) => line.startsWith('[lockkeys]'))).toHaveLength(1);
  });

  test('an exit code is named, and stop() during the back-off cancels the restart', async () => {
    const lines: string[] = [];
    const service = await startService(
      {
        name: 'matching',
        command: node,
        args: ['-e', "console.log('up'); setTimeout(() => process.exit(7), 300)"],
        env: process.env,
        readyLine: /up/,
        restart: 'unless-stopped',
        restartDelayMs: 10_000,
      },
      (name, line) => lines.push(`[${name}] ${line}`),
    );
    await until(() => lines.includes('[lockkeys] matching exited (code 7); restarting'));
    const started = Date.now();
    await service.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(service.exited).resolves.toBe(7);
    expect(service.restarts).toBe(0);
  });

  test('a process that dies before it was ready is an error, not a restart loop', async () => {
    const lines: string[] = [];
    await expect(
      startService(
        {
          name: 'frontend',
          command: node,
          args: ['-e', "console.error('bad config'); process.exit(2)"],
          env: process.env,
          readyLine: /never/,
          restart: 'unless-stopped',
          restartDelayMs: 10,
        },
        (name, line) => lines.push(`[${name}] ${line}`),
      ),
    ).rejects.toThrow(/frontend exited with code 2 before it was ready:\nbad config/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lines).toEqual(['[frontend] bad config']);
  });

  test('stop() while the process is being stopped never restarts it, even when it dies of the stop signal', async () => {
    const lines: string[] = [];
    const service = await startService(
      {
        name: 'worker',
        command: node,
        args: ['-e', forever],
        env: process.env,
        readyLine: /up/,
        restart: 'unless-stopped',
        restartDelayMs: 10,
      },
      (name, line) => lines.push(`[${name}] ${line}`),
    );
    const pid = service.pid;
    await service.stop('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(alive(pid)).toBe(false);
    expect(service.restarts).toBe(0);
    expect(lines.some((line) => line.startsWith('[lockkeys]'))).toBe(false);
  });
});

test('stopSignal is what stop() sends by default (PostgreSQL: SIGINT, its fast shutdown)', async () => {
  const lines: string[] = [];
  const service = await startService(
    {
      name: 'postgres',
      command: node,
      args: [
        '-e',
        "process.on('SIGINT', () => { console.log('fast shutdown'); process.exit(0) }); console.log('up'); setInterval(() => {}, 1000)",
      ],
      env: process.env,
      readyLine: /up/,
      stopSignal: 'SIGINT',
    },
    (_name, line) => lines.push(line),
  );
  await service.stop();
  await expect(service.exited).resolves.toBe(0);
  expect(lines).toContain('fast shutdown');
});
