// docker-compose.yml and `npm run dev -- --engine=postgres` must run the same Temporal: the same server version, config
// file, dynamic config, shard count, namespace, search attributes and retention. Each side is read from where it is
// decided (compose from docker-compose.yml, the stack from @lockkeys/dev-stack), and the two are compared, so a
// change to one side alone fails here.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_ENGINE_PORTS,
  ENGINE_NAMESPACE,
  NAMESPACE_SCRIPT,
  SCHEMA_SCRIPT,
  TEMPORAL_CONFIG_ROOT,
  TEMPORAL_SERVER_VERSION,
  TEMPORAL_SERVICES,
  TEMPORAL_UI_SERVER_VERSION,
  DEV_SERVER_DYNAMIC_CONFIG,
  devServerArgs,
  ensureTemporalServerBinaries,
  serverArgs,
  serverEnv,
  uiArgs,
} from '@lockkeys/dev-stack';
import { SEARCH_ATTRIBUTES } from '@lockkeys/contracts';
import { parse as parseYaml } from 'yaml';
import { type ComposeService, environmentOf, interpolate, parseCompose } from './compose-file';
import { repoPath } from './repo';
import { hostPathOf, releaseOf, repoRelative, serverInvocation } from './temporal-compose';

const compose = parseCompose(readFileSync(repoPath('docker-compose.yml'), 'utf8'));
// Compose's own defaults (${VAR:-default}) are what an operator gets; required app secrets do not matter here.
const resolved = interpolate(compose, {}).value;
const services = Object.entries(compose.services ?? {});
const composeServers = services.flatMap(([name, service]) => {
  const invocation = serverInvocation(service);
  return invocation ? [{ name, service, invocation }] : [];
});
const byImage = (repository: string) =>
  services.filter(([, service]) => (service.image ?? '').startsWith(`${repository}:`)).map(([, service]) => service);
const resolvedService = (name: string): ComposeService => resolved.services?.[name] ?? {};

/** A flag's value in an argument list. */
const flag = (args: readonly string[], name: string) => args[args.indexOf(name) + 1];

/** The config file a `--root R --config C --env E` invocation loads (root already on the host). */
const configFile = (root: string, args: readonly string[]) =>
  join(root, flag(args, '--config') ?? '', `${flag(args, '--env')}.yaml`);

/** `name="value"` from a shell script. */
const shellValue = (path: string, name: string) =>
  new RegExp(`^${name}="([^"]*)"$`, 'm').exec(readFileSync(path, 'utf8'))?.[1];

describe('compose and the postgres engine run the same Temporal', () => {
  test('the same server release: every temporalio/server and admin-tools image, and the engine’s binaries', () => {
    const images = [...byImage('temporalio/server'), ...byImage('temporalio/admin-tools')];
    expect(images.length).toBeGreaterThanOrEqual(6);
    expect(new Set(images.map((service) => releaseOf(service.image)))).toEqual(
      new Set([TEMPORAL_SERVER_VERSION.replace(/^v/, '')]),
    );
  });

  test('the same Web UI server release', () => {
    expect(byImage('temporalio/ui').map((service) => releaseOf(service.image))).toEqual([
      TEMPORAL_UI_SERVER_VERSION.replace(/^v/, ''),
    ]);
  });

  test('the same four services, each from the same config file with the same flags', () => {
    expect(composeServers.map(({ invocation }) => invocation.service).sort()).toEqual([...TEMPORAL_SERVICES].sort());
    for (const { name, service, invocation } of composeServers) {
      const stack = serverArgs(invocation.service as (typeof TEMPORAL_SERVICES)[number]);
      const root = hostPathOf(service, invocation.root);
      expect({ name, root }).toEqual({ name, root: TEMPORAL_CONFIG_ROOT });
      expect(repoRelative(configFile(root ?? '', invocation.args))).toBe(
        repoRelative(configFile(flag(stack, '--root') ?? '', stack)),
      );
      // Everything after the root: config, env, auth, start, service.
      expect(invocation.args.slice(invocation.args.indexOf('--config'))).toEqual(
        stack.slice(stack.indexOf('--config')),
      );
    }
  });

  test('the same Web UI config file', () => {
    const [[name, ui] = ['', {}]] = services.filter(([, service]) =>
      (service.image ?? '').startsWith('temporalio/ui:'),
    );
    const entrypoint = (ui.entrypoint as string[] | undefined) ?? [];
    const root = hostPathOf(ui, flag(entrypoint, '--root') ?? '');
    expect({ name, file: repoRelative(configFile(root ?? '', entrypoint)) }).toEqual({
      name,
      file: repoRelative(configFile(TEMPORAL_CONFIG_ROOT, uiArgs())),
    });
  });

  test('the same dynamic config file', () => {
    const stack = serverEnv('frontend', DEFAULT_ENGINE_PORTS).DYNAMIC_CONFIG_FILE_PATH;
    for (const { name, service } of composeServers) {
      const inContainer = environmentOf(resolvedService(name)).DYNAMIC_CONFIG_FILE_PATH ?? '';
      expect({ name, file: hostPathOf(service, inContainer) }).toEqual({ name, file: stack });
    }
  });

  describe('as server 1.29.1 renders the config for each side', () => {
    let server = '';
    beforeAll(() => {
      server = ensureTemporalServerBinaries().server;
    }, 600_000);

    /** `temporal-server render-config` (which reads its config dir relative to the working directory). */
    const render = (env: NodeJS.ProcessEnv, args: readonly string[]) => {
      const result = spawnSync(
        server,
        ['--config', flag(args, '--config') ?? '', '--env', flag(args, '--env') ?? '', 'render-config'],
        {
          cwd: TEMPORAL_CONFIG_ROOT,
          env,
          encoding: 'utf8',
        },
      );
      if (result.status !== 0) throw new Error(`render-config failed: ${result.stderr}${result.stdout}`);
      return result.stdout;
    };
    /** The persistence facts that must agree: shards, stores, plugin, databases. */
    const persistence = (rendered: string) => ({
      numHistoryShards: /^ {4}numHistoryShards: (\d+)$/m.exec(rendered)?.[1],
      plugins: [...rendered.matchAll(/pluginName: (\S+)/g)].map((match) => match[1]),
      databases: [...rendered.matchAll(/databaseName: (\S+)/g)].map((match) => match[1]),
      dynamicConfig: /^ {4}filepath: (.*)$/m.exec(rendered)?.[1],
    });

    test.each(TEMPORAL_SERVICES)('%s: the same shard count, persistence and dynamic config', (serviceName) => {
      const composeSide = composeServers.find(({ invocation }) => invocation.service === serviceName);
      expect(composeSide).toBeDefined();
      const { name, service, invocation } = composeSide as (typeof composeServers)[number];
      const containerEnv = environmentOf(resolvedService(name));
      const composeEnv = {
        PATH: process.env.PATH,
        ...containerEnv,
        // What the entrypoint sets at run time from `hostname -i`, and the mounted file as the host has it.
        BIND_ON_IP: '127.0.0.1',
        DYNAMIC_CONFIG_FILE_PATH: hostPathOf(service, containerEnv.DYNAMIC_CONFIG_FILE_PATH ?? ''),
      };
      const stackArgs = serverArgs(serviceName);
      const fromCompose = persistence(render(composeEnv, invocation.args));
      const fromStack = persistence(render(serverEnv(serviceName, DEFAULT_ENGINE_PORTS), stackArgs));
      expect(fromCompose.numHistoryShards).toMatch(/^\d+$/);
      expect(fromCompose).toEqual(fromStack);
    });
  });

  test('the same namespace, search attributes and retention: both run one script, which alone decides them', () => {
    const job = services.find(([, service]) => {
      const entrypoint = (service.entrypoint as string[] | undefined) ?? [];
      return entrypoint[0] === '/bin/sh' && hostPathOf(service, entrypoint[1] ?? '')?.endsWith(NAMESPACE_SCRIPT);
    });
    expect(job).toBeDefined();
    const [name, service] = job as [string, ComposeService];
    const composeScript = hostPathOf(service, ((service.entrypoint as string[] | undefined) ?? [])[1] ?? '') ?? '';
    const stackScript = join(TEMPORAL_CONFIG_ROOT, NAMESPACE_SCRIPT);
    expect({ name, script: repoRelative(composeScript) }).toEqual({ name, script: repoRelative(stackScript) });
    expect(environmentOf(resolvedService(name)).TEMPORAL_NAMESPACE).toBe(ENGINE_NAMESPACE);
    for (const fact of ['retention', 'attributes']) {
      expect({ fact, value: shellValue(composeScript, fact) }).toEqual({ fact, value: shellValue(stackScript, fact) });
      expect(shellValue(stackScript, fact)).toBeTruthy();
    }
    // Read from the script itself, not from the environment: nothing in compose can change them.
    const script = readFileSync(stackScript, 'utf8');
    expect(script).not.toMatch(/^(retention|attributes)="\$\{/m);
  });

  test('the same schema script creates and migrates the databases', () => {
    const job = services.find(([, service]) =>
      hostPathOf(service, ((service.entrypoint as string[] | undefined) ?? [])[1] ?? '')?.endsWith(SCHEMA_SCRIPT),
    );
    expect(job).toBeDefined();
    const [, service] = job as [string, ComposeService];
    expect(hostPathOf(service, ((service.entrypoint as string[] | undefined) ?? [])[1] ?? '')).toBe(
      join(TEMPORAL_CONFIG_ROOT, SCHEMA_SCRIPT),
    );
  });
});

describe('every Temporal the project starts is set up alike', () => {
  const dynamicConfig = parseYaml(
    readFileSync(repoPath('temporal', 'dynamicconfig', 'development-sql.yaml'), 'utf8'),
  ) as Record<string, Array<{ value: unknown }>>;

  test('the dev server’s dynamic config values are the PostgreSQL engine’s (eager activities, updates, update-with-start)', () => {
    for (const [key, value] of Object.entries(DEV_SERVER_DYNAMIC_CONFIG)) {
      expect([key, dynamicConfig[key]?.[0]?.value]).toEqual([key, value]);
    }
    const args = devServerArgs();
    for (const [key, value] of Object.entries(DEV_SERVER_DYNAMIC_CONFIG)) {
      expect(args.join(' ')).toContain(`--dynamic-config-value ${key}=${JSON.stringify(value)}`);
    }
  });

  test('the namespace script registers exactly the search attributes of the contracts, which the dev server gets too', () => {
    const script = shellValue(repoPath('temporal', NAMESPACE_SCRIPT), 'attributes');
    const expected = Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => `${name}=${type}`);
    expect(script?.split(' ').sort()).toEqual([...expected].sort());
    const args = devServerArgs();
    for (const attribute of expected) expect(args.join(' ')).toContain(`--search-attribute ${attribute}`);
  });

  test('the dev server keeps its SQLite in WAL mode when it has a file', () => {
    expect(devServerArgs({ sqliteFile: '/x.sqlite' }).join(' ')).toContain(
      '--sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal',
    );
  });
});
