import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How to start one process of the stack and how to tell it is ready. */
export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolves true once the service serves; polled until `readyTimeoutMs`. */
  ready?: () => Promise<boolean>;
  /** A line on stdout/stderr that means ready (for services without an endpoint to poll). */
  readyLine?: RegExp;
  readyTimeoutMs?: number;
  /** How long SIGTERM may take before SIGKILL. */
  stopTimeoutMs?: number;
}

/** A process we started; stopped by its own process id. */
export interface RunningService {
  readonly name: string;
  readonly pid: number;
  /** Lines the process printed (the last 500), for diagnostics in tests. */
  readonly output: string[];
  /** SIGTERM, then SIGKILL after the stop timeout; resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Resolves with the exit code when the process ends. */
  readonly exited: Promise<number | null>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a service, forwards its output line by line through `print`, and waits until it is ready. */
export async function startService(
  spec: ServiceSpec,
  print: (name: string, line: string) => void,
): Promise<RunningService> {
  // Own process group: a terminal's Ctrl-C reaches only the supervisor, which stops services in order.
  const child: ChildProcess = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const output: string[] = [];
  let sawReadyLine = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      if (output.length > 500) output.shift();
      if (spec.readyLine?.test(line)) sawReadyLine = true;
      print(spec.name, line);
    });
  }

  let stopping: Promise<void> | undefined;
  const service: RunningService = {
    name: spec.name,
    pid: child.pid ?? -1,
    output,
    exited,
    stop(signal = 'SIGTERM') {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), spec.stopTimeoutMs ?? 10_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };

  const deadline = Date.now() + (spec.readyTimeoutMs ?? 60_000);
  let ended: string | undefined;
  void exited.then((code) => (ended = `exited with code ${code}`));
  void spawnError.then((error) => (ended = `could not start: ${error.message}`));
  for (;;) {
    if (ended) throw new Error(`${spec.name} ${ended} before it was ready:\n${output.slice(-20).join('\n')}`);
    const ready = spec.readyLine ? sawReadyLine : await spec.ready?.().catch(() => false);
    if (ready ?? true) return service;
    if (Date.now() > deadline) {
      await service.stop();
      throw new Error(
        `${spec.name} was not ready within ${spec.readyTimeoutMs ?? 60_000} ms:\n${output.slice(-20).join('\n')}`,
      );
    }
    await sleep(150);
  }
}

/** True when `url` answers 200 within a second. */
export async function answers200(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
  await response.arrayBuffer();
  return response.status === 200;
}
