import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How to start one process of the stack and how to tell it is ready. */
export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user and group (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
  /** Resolves true once the service serves; polled until `readyTimeoutMs`. */
  ready?: () => Promise<boolean>;
  /** A line on stdout/stderr that means ready (for services without an endpoint to poll). */
  readyLine?: RegExp;
  readyTimeoutMs?: number;
  /** The signal `stop()` sends by default, like compose's `stop_signal` (PostgreSQL: SIGINT, its fast shutdown). */
  stopSignal?: NodeJS.Signals;
  /** How long the stop signal may take before SIGKILL. */
  stopTimeoutMs?: number;
  /**
   * Like compose's `restart:`. `'unless-stopped'`: a process that ends by itself after it was ready is started
   * again (one log line, a back-off that grows while it keeps failing), never while `stop()` runs or after.
   * Default `'no'`: an ended process stays ended and `exited` resolves.
   */
  restart?: 'no' | 'unless-stopped';
  /** First pause before a restart (default 1 s); doubles after each quick failure, up to 30 s. */
  restartDelayMs?: number;
}

/** A process we started; stopped by its own process id. */
export interface RunningService {
  readonly name: string;
  /** The current process id (a restart gives a new one). */
  readonly pid: number;
  /** Lines the process printed (the last 500), for diagnostics in tests. */
  readonly output: string[];
  /** How many times the restart policy started the process again. */
  readonly restarts: number;
  /** The stop signal (default SIGTERM), then SIGKILL after the stop timeout; resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Resolves with the exit code once the service has ended for good (with a restart policy: only after `stop()`). */
  readonly exited: Promise<number | null>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const MAX_RESTART_DELAY_MS = 30_000;
/** A process that ran this long before it ended counts as healthy: its next restart waits the first delay again. */
const HEALTHY_RUN_MS = 30_000;

interface Ending {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

function describeEnding(ending: Ending): string {
  if (ending.error) return `could not start: ${ending.error.message}`;
  return ending.signal ? `signal ${ending.signal}` : `code ${ending.code}`;
}

/**
 * Starts a service, forwards its output line by line through `print`, and waits until it is ready.
 * Restart notices go through `print('lockkeys', …)`. An aborted `signal` stops it and rejects while it is not ready.
 */
export async function startService(
  spec: ServiceSpec,
  print: (name: string, line: string) => void,
  options: { signal?: AbortSignal } = {},
): Promise<RunningService> {
  const output: string[] = [];
  let child: ChildProcess;
  let wasReady = false;
  let stopRequested = false;
  let restarts = 0;
  let restartDelay = spec.restartDelayMs ?? 1_000;
  let restartTimer: NodeJS.Timeout | undefined;
  let lastEnding: Ending | undefined;
  let resolveExited: (code: number | null) => void = () => undefined;
  const exited = new Promise<number | null>((resolve) => (resolveExited = resolve));
  let currentEnded: Promise<Ending> = Promise.resolve({ code: null, signal: null });

  const launch = () => {
    const startedAt = Date.now();
    // Own process group: a terminal's Ctrl-C reaches only the supervisor, which stops services in order.
    const launched = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      ...(spec.uid !== undefined && { uid: spec.uid }),
      ...(spec.gid !== undefined && { gid: spec.gid }),
    });
    child = launched;
    for (const stream of [launched.stdout, launched.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        if (output.length > 500) output.shift();
        // Ready from this line on, even if the process ends before the poll below sees it (then it restarts).
        if (spec.readyLine?.test(line)) wasReady = true;
        print(spec.name, line);
      });
    }
    currentEnded = new Promise<Ending>((resolve) => {
      launched.once('exit', (code, signal) => resolve({ code, signal }));
      // A process that never spawned (no such file, no permission) emits only 'error'.
      launched.once('error', (error) => {
        if (launched.pid === undefined) resolve({ code: null, signal: null, error });
      });
    });
    void currentEnded.then((ending) => {
      lastEnding = ending;
      if (stopRequested || !wasReady || spec.restart !== 'unless-stopped') {
        resolveExited(ending.code);
        return;
      }
      restartDelay = Date.now() - startedAt > HEALTHY_RUN_MS ? (spec.restartDelayMs ?? 1_000) : restartDelay;
      print('lockkeys', `${spec.name} exited (${describeEnding(ending)}); restarting`);
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (stopRequested) return;
        restarts += 1;
        launch();
      }, restartDelay);
      restartDelay = Math.min(restartDelay * 2, MAX_RESTART_DELAY_MS);
    });
  };
  launch();

  let stopping: Promise<void> | undefined;
  const service: RunningService = {
    name: spec.name,
    get pid() {
      return child.pid ?? -1;
    },
    output,
    get restarts() {
      return restarts;
    },
    exited,
    stop(signal = spec.stopSignal ?? 'SIGTERM') {
      stopping ??= (async () => {
        stopRequested = true;
        if (restartTimer !== undefined) {
          // Between two lives: nothing runs, and nothing will.
          clearTimeout(restartTimer);
          restartTimer = undefined;
          resolveExited(lastEnding?.code ?? null);
        } else if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
          const running = child;
          running.kill(signal);
          const timer = setTimeout(() => running.kill('SIGKILL'), spec.stopTimeoutMs ?? 10_000);
          await currentEnded;
          clearTimeout(timer);
        }
        await exited;
      })();
      return stopping;
    },
  };

  const deadline = Date.now() + (spec.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (!wasReady && lastEnding) {
      const how = lastEnding.error ? describeEnding(lastEnding) : `exited with code ${lastEnding.code}`;
      throw new Error(`${spec.name} ${how} before it was ready:\n${output.slice(-20).join('\n')}`);
    }
    if (!wasReady && !spec.readyLine) wasReady = (await spec.ready?.().catch(() => false)) ?? true;
    if (wasReady) return service;
    if (options.signal?.aborted) {
      await service.stop();
      throw new Error(`${spec.name}: start aborted`);
    }
    if (Date.now() > deadline) {
      await service.stop();
      throw new Error(
        `${spec.name} was not ready within ${spec.readyTimeoutMs ?? 60_000} ms:\n${output.slice(-20).join('\n')}`,
      );
    }
    await sleep(150);
  }
}

/** True while a process with `pid` exists (signal 0 checks without sending anything; EPERM: it exists, not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `url` answers 200 within a second. */
export async function answers200(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
  await response.arrayBuffer();
  return response.status === 200;
}
