import { rmSync } from 'node:fs';
import {
  freeEnginePorts,
  freePort,
  startService,
  startStack,
  type PostgresEngine,
  type PostgresEnginePorts,
  type RunningService,
  type ServiceName,
  type Stack,
  type StackEngine,
  type StackOptions,
  type StackPorts,
  workerServiceSpec,
} from '@lockkeys/dev-stack';
import { Client, Connection } from '@temporalio/client';
import { GatewayClient } from './gateway';
import { freeStackPorts } from './ports';
import { scrapeMetrics, type PromSample } from './prometheus';
import { ROOT_DIR, scratchDir } from './repo';
import { SimulatorClient } from './simulator';

/** Which Temporal server a stack runs on: the dev server (SQLite), or the production engine on PostgreSQL. */
export type { StackEngine };

/** How to start a {@link TestStack}. */
export interface TestStackOptions {
  /** Names the scratch dir (`lockkeys-<name>-XXXXXX`). */
  name: string;
  /** Extra environment of every app (e.g. `KEY_COMMAND_GAP_MS`), on top of {@link TEST_STACK_ENV}. */
  env?: NodeJS.ProcessEnv;
  /** Extra arguments of `temporal server start-dev` (e.g. dynamic config). */
  temporalArgs?: string[];
  /** Parent of the scratch dir (default: the OS temp dir; `/dev/shm` keeps SQLite off the disk). */
  dataRoot?: string;
  /** Passed to dev-stack's `startStack` when given. */
  engine?: StackEngine;
  /** Where service output goes (default: nowhere; each service keeps its last lines in `output`). */
  print?: (name: string, line: string) => void;
  /** `sub` of the gateway client's dev JWT (default: `name`). */
  clientName?: string;
}

const quiet = () => undefined;

/**
 * What every test stack's apps get unless the suite says otherwise: quiet logs, and a per-API-key rate limit no
 * polling loop reaches (suites poll run status several times a second; the limit has its own gateway tests).
 */
export const TEST_STACK_ENV: Readonly<NodeJS.ProcessEnv> = { LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '100000' };

/** What a started {@link TestStack} holds. */
interface Running {
  stack: Stack;
  ports: StackPorts;
  /** The postgres engine's own ports (free ones, so that suites never meet `npm run dev` nor each other). */
  enginePorts: PostgresEnginePorts | undefined;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  gateway: GatewayClient;
  simulator: SimulatorClient;
}

/**
 * A whole stack (Temporal, lock simulator, worker, gateway) of one suite, on free 127.0.0.1 ports in a scratch dir,
 * with a gateway client (dev credentials) and a simulator client bound to it. {@link TestStack.stop} stops every
 * process it started, each by its pid, and deletes the scratch dir.
 */
export class TestStack {
  private running: Running | undefined;
  private readonly extraWorkers: RunningService[] = [];
  private connection: Promise<Connection> | undefined;
  private stopping: Promise<void> | undefined;

  private constructor() {}

  /** Starts the stack; on failure everything started so far is stopped and the scratch dir deleted. */
  static async start(options: TestStackOptions): Promise<TestStack> {
    const stack = new TestStack();
    await stack.boot(options);
    return stack;
  }

  /**
   * In a Jest file: the stack of the suite, started in `beforeAll` and stopped in `afterAll`. Use it in tests and
   * hooks (before `beforeAll` ran, it throws).
   */
  static forSuite(options: TestStackOptions): TestStack {
    const stack = new TestStack();
    beforeAll(() => stack.boot(options));
    afterAll(() => stack.stop());
    return stack;
  }

  private async boot(options: TestStackOptions): Promise<void> {
    const ports = await freeStackPorts();
    const env = { ...TEST_STACK_ENV, ...options.env };
    const dataDir = scratchDir(options.name, options.dataRoot);
    const enginePorts = options.engine === 'postgres' ? await freeEnginePorts() : undefined;
    const stackOptions: StackOptions = {
      rootDir: ROOT_DIR,
      dataDir,
      ports,
      env,
      print: options.print ?? quiet,
      ...(options.temporalArgs !== undefined && { temporalArgs: options.temporalArgs }),
      ...(options.engine !== undefined && { engine: options.engine }),
      ...(enginePorts !== undefined && { enginePorts }),
    };
    try {
      const stack = await startStack(stackOptions);
      const gateway = new GatewayClient(stack.gatewayUrl, { sub: options.clientName ?? options.name });
      const simulator = new SimulatorClient(stack.simulatorUrl);
      this.running = { stack, ports, enginePorts, dataDir, env, gateway, simulator };
    } catch (error) {
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    }
  }

  private get started(): Running {
    if (this.running === undefined) throw new Error('the TestStack is not started (yet, or it failed to start)');
    return this.running;
  }

  /** dev-stack's handle of the running stack. */
  get stack(): Stack {
    return this.started.stack;
  }
  get ports(): StackPorts {
    return this.started.ports;
  }
  /** With `engine: 'postgres'`: the running engine (PostgreSQL, the four Temporal server processes, the Web UI). */
  get engine(): PostgresEngine | undefined {
    return this.stack.engine;
  }
  /** With `engine: 'postgres'`: the engine's ports (history, matching, PostgreSQL…), all free ones. */
  get enginePorts(): PostgresEnginePorts | undefined {
    return this.started.enginePorts;
  }
  /** The scratch dir: Temporal's and the simulator's SQLite files. */
  get dataDir(): string {
    return this.started.dataDir;
  }
  /** The apps' extra environment, as started (extra workers get it too). */
  get env(): NodeJS.ProcessEnv {
    return this.started.env;
  }
  /** The gateway, with the dev credentials. */
  get gateway(): GatewayClient {
    return this.started.gateway;
  }
  /** The lock simulator: journal, slots, faults. */
  get simulator(): SimulatorClient {
    return this.started.simulator;
  }
  get services(): Stack['services'] {
    return this.stack.services;
  }
  get temporalAddress(): string {
    return this.stack.temporalAddress;
  }
  get gatewayUrl(): string {
    return this.stack.gatewayUrl;
  }
  get simulatorUrl(): string {
    return this.stack.simulatorUrl;
  }
  get webUiUrl(): string {
    return this.stack.webUiUrl;
  }
  /** The stack worker's Prometheus exporter. */
  get workerMetricsUrl(): string {
    return `http://127.0.0.1:${this.ports.workerMetrics}/metrics`;
  }

  /** Starts one service of the stack again (after a test stopped or killed it). */
  start(name: ServiceName): Promise<RunningService> {
    return this.stack.start(name);
  }

  /**
   * Another worker process on the same task queue, with the stack's environment (`env` on top, e.g.
   * `ADD_KEY_ACTIVITY`) and ports of its own.
   */
  async startExtraWorker(env: NodeJS.ProcessEnv = {}): Promise<RunningService> {
    const [health, metrics] = [await freePort(), await freePort()];
    const worker = await startService(
      workerServiceSpec(ROOT_DIR, {
        // Not `worker-2`: the postgres engine's stack has a second worker of that name.
        name: `extra-worker-${this.extraWorkers.length + 1}`,
        env: { ...this.started.stack.appEnv, ...env },
        health,
        metrics,
      }),
      quiet,
    );
    this.extraWorkers.push(worker);
    return worker;
  }

  /** A Temporal client on the stack's server: one connection, opened on first use, closed by {@link stop}. */
  async temporalClient(): Promise<Client> {
    this.connection ??= Connection.connect({ address: this.temporalAddress });
    return new Client({ connection: await this.connection });
  }

  /** The stack worker's metrics, parsed. */
  workerMetrics(): Promise<PromSample[]> {
    return scrapeMetrics(this.workerMetricsUrl);
  }

  /** Process ids of every service it started (extra workers included), by name: for RSS and CPU sampling. */
  pids(): Record<string, number> {
    const services = [...Object.values(this.services), ...this.extraWorkers];
    return Object.fromEntries(services.map((service) => [service!.name, service!.pid]));
  }

  /** The last lines each process printed (the postgres engine's included), for a failure report. */
  lastLines(count = 15): Record<string, string[]> {
    const engine = Object.values(this.engine?.services ?? {});
    const services = [...Object.values(this.services), ...this.extraWorkers, ...engine];
    return Object.fromEntries(services.map((service) => [service!.name, service!.output.slice(-count)]));
  }

  /**
   * Closes the Temporal client, stops the extra workers, then the stack (gateway first, PostgreSQL last), and deletes
   * the scratch dir and the postgres engine's cluster.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const connection = await this.connection?.catch(() => undefined);
      await connection?.close();
      for (const worker of this.extraWorkers) await worker.stop();
      if (this.running === undefined) return;
      const postgresDir = this.running.stack.engine?.postgresDir;
      await this.running.stack.stop();
      rmSync(this.running.dataDir, { recursive: true, force: true });
      // A scratch dir the PostgreSQL user cannot enter puts the cluster in a fallback folder of its own.
      if (postgresDir !== undefined) rmSync(postgresDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}

/**
 * Starts a {@link TestStack}, runs `body` and always stops it — also on failure (after printing each process's
 * last lines through `log`) and on SIGINT/SIGTERM, so a Ctrl-C leaves no process and no scratch dir behind.
 */
export async function withTestStack<T>(
  options: TestStackOptions,
  body: (stack: TestStack) => Promise<T>,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<T> {
  let started: TestStack | undefined;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    log(`${signal}: stopping the ${options.name} stack`);
    void (started?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    started = await TestStack.start(options);
    if (interrupted) throw new Error(`interrupted while the ${options.name} stack started`);
    return await body(started);
  } catch (error) {
    for (const [name, lines] of Object.entries(started?.lastLines() ?? {})) {
      log(`last lines of ${name}:\n  ${lines.join('\n  ')}`);
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await started?.stop();
  }
}
