import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { composeConfig, ensureComposeCli } from './compose-cli';
import {
  dependencyProblems,
  dockerfilesOf,
  type EnvironmentRequirements,
  missingEnvironment,
  missingHealthchecks,
  referenceProblems,
  replicaProblems,
  schemaProblems,
  unpinnedImages,
} from './compose-checks';
import { type ComposeDocument, dependenciesOf, environmentOf, interpolate, parseCompose } from './compose-file';
import { dockerfileProblems, stagesOf } from './dockerfile';
import { REPO_ROOT, repoPath } from './repo';
import { TEMPORAL_DIR, hostPathOf, releaseOf, serverInvocation, temporalMount } from './temporal-compose';

const COMPOSE_FILE = repoPath('docker-compose.yml');
const composeText = readFileSync(COMPOSE_FILE, 'utf8');
const compose = parseCompose(composeText);

const scratch = mkdtempSync(join(tmpdir(), 'lockkeys-deploy-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const apiKeysFile = join(scratch, 'api-keys.json');
writeFileSync(apiKeysFile, JSON.stringify({ keys: [] }));

/** What an operator exports before `docker compose up` (the values only need to be plausible). */
const HOST_ENV: Readonly<Record<string, string>> = {
  JWT_SECRET: 'test-secret-test-secret-test-secret-0123',
  LOCK_BACKEND_TOKEN: 'test-lock-token',
  LOCKKEYS_API_KEYS_FILE: apiKeysFile,
};

const APP_SERVICES = ['gateway', 'worker', 'lock-simulator'] as const;
const SERVER_SERVICES = ['temporal-frontend', 'temporal-history', 'temporal-matching', 'temporal-worker'];

/** What each app refuses to start without, or would start wrong without, in a container (its config.ts and SPEC). */
const REQUIRED_ENVIRONMENT: EnvironmentRequirements = {
  gateway: {
    NODE_ENV: 'production',
    JWT_SECRET: null,
    API_KEYS_FILE: null,
    TEMPORAL_ADDRESS: 'temporal-frontend:7233',
    // The default 127.0.0.1 would be unreachable from outside the container.
    HOST: '0.0.0.0',
  },
  worker: {
    TEMPORAL_ADDRESS: 'temporal-frontend:7233',
    LOCK_BACKEND_URL: 'http://lock-simulator:3100',
    LOCK_BACKEND_TOKEN: null,
    WORKER_HEALTH_HOST: '0.0.0.0',
  },
  'lock-simulator': {
    LOCK_BACKEND_TOKEN: null,
    LOCK_SIM_DB: null,
    LOCK_SIM_HOST: '0.0.0.0',
  },
};

/** Every check of this suite on one compose file; the real file must pass it and each hostile fixture must not. */
function composeProblems(text: string, baseDir: string): string[] {
  const document = parseCompose(text);
  const { value: interpolated, errors } = interpolate(document, HOST_ENV);
  return [
    ...errors.map((error) => `interpolation: ${error}`),
    ...schemaProblems(interpolated),
    ...unpinnedImages(document),
    ...missingEnvironment(document, REQUIRED_ENVIRONMENT),
    ...replicaProblems(document, 'worker', 2),
    ...missingHealthchecks(document, APP_SERVICES),
    ...dependencyProblems(document),
    ...referenceProblems(document, baseDir),
  ];
}

const service = (name: string) => {
  const found = compose.services?.[name];
  if (found === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};

describe('docker-compose.yml', () => {
  it('passes every check: schema, pinned images, app environment, replicas, healthchecks, depends_on, references', () => {
    expect(composeProblems(composeText, REPO_ROOT)).toEqual([]);
  });

  it('runs Temporal on PostgreSQL as four services, its UI, two setup jobs, and the three apps; no version: key', () => {
    expect(Object.keys(compose.services ?? {}).sort()).toEqual(
      [
        'gateway',
        'lock-simulator',
        'postgresql',
        'temporal-schema',
        'temporal-frontend',
        'temporal-history',
        'temporal-matching',
        'temporal-worker',
        'temporal-namespace',
        'temporal-ui',
        'worker',
      ].sort(),
    );
    // The spec dropped it.
    expect(compose).not.toHaveProperty('version');
  });

  it.each(['JWT_SECRET', 'LOCK_BACKEND_TOKEN', 'LOCKKEYS_API_KEYS_FILE'])(
    'refuses to interpolate without %s, and says which variable is missing',
    (variable) => {
      const env = Object.fromEntries(Object.entries(HOST_ENV).filter(([name]) => name !== variable));
      const { errors } = interpolate(compose, env);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((error) => error.startsWith(`${variable}: set ${variable}`))).toBe(true);
    },
  );

  it('gives worker and lock-simulator the same lock backend token', () => {
    expect(environmentOf(service('worker')).LOCK_BACKEND_TOKEN).toBe(
      environmentOf(service('lock-simulator')).LOCK_BACKEND_TOKEN,
    );
  });

  it('points API_KEYS_FILE at a secret the gateway mounts', () => {
    const gateway = service('gateway');
    const secretName = /^\/run\/secrets\/([^/]+)$/.exec(environmentOf(gateway).API_KEYS_FILE ?? '')?.[1];
    expect(secretName).toBeDefined();
    expect(gateway.secrets).toContain(secretName);
    expect(compose.secrets?.[secretName ?? '']?.file).toMatch(/^\$\{LOCKKEYS_API_KEYS_FILE:\?/);
  });

  it('keeps the simulator database on a named volume, so a restart loses no lock state', () => {
    const simulator = service('lock-simulator');
    const databaseDir = dirname(environmentOf(simulator).LOCK_SIM_DB ?? '');
    const mounts = (simulator.volumes ?? []).map((volume) =>
      typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target],
    );
    expect(mounts).toContainEqual(['lock-simulator-data', databaseDir]);
    expect(compose.volumes).toHaveProperty('lock-simulator-data');
  });

  it.each([
    ['gateway', 'PORT', '/readyz'],
    ['worker', 'WORKER_HEALTH_PORT', '/readyz'],
    ['lock-simulator', 'LOCK_SIM_PORT', '/healthz'],
  ])('probes %s on the port its %s names, at %s', (name, portVariable, path) => {
    const app = service(name);
    const port = environmentOf(app)[portVariable];
    expect(port).toMatch(/^\d+$/);
    const test = app.healthcheck?.test;
    // Exec form with node: the images have node, not curl or wget.
    expect(Array.isArray(test) && test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(String(Array.isArray(test) ? test[3] : '')).toContain(`http://127.0.0.1:${port}${path}`);
  });

  it('starts worker and gateway only after the namespace is ready and the frontend is healthy', () => {
    for (const name of ['worker', 'gateway']) {
      expect(dependenciesOf(service(name))).toMatchObject({
        'temporal-frontend': 'service_healthy',
        'temporal-namespace': 'service_completed_successfully',
      });
    }
    expect(dependenciesOf(service('worker'))).toMatchObject({ 'lock-simulator': 'service_healthy' });
    expect(dependenciesOf(service('temporal-schema'))).toEqual({ postgresql: 'service_healthy' });
    for (const name of SERVER_SERVICES) {
      expect(dependenciesOf(service(name))).toEqual({ 'temporal-schema': 'service_completed_successfully' });
    }
    expect(dependenciesOf(service('temporal-namespace'))).toEqual({ 'temporal-frontend': 'service_healthy' });
  });

  it.each([
    ['temporal-schema', 'setup-schema.sh', { SQL_HOST: 'postgresql', SQL_PORT: '5432', SQL_USER: 'temporal' }],
    [
      'temporal-namespace',
      'register-search-attributes.sh',
      { TEMPORAL_ADDRESS: 'temporal-frontend:7233', TEMPORAL_NAMESPACE: 'default' },
    ],
  ])('runs the one-shot %s job: temporal/%s from the read-only temporal/ mount', (name, script, environment) => {
    const job = service(name);
    expect(job.entrypoint).toEqual(['/bin/sh', `${temporalMount(job)}/${script}`]);
    expect(hostPathOf(job, `${temporalMount(job)}/${script}`)).toBe(join(TEMPORAL_DIR, script));
    expect(environmentOf(job)).toMatchObject(environment);
    // Retried a few times, never restarted after success (the apps wait for its exit 0).
    expect(job.restart).toMatch(/^on-failure:\d+$/);
  });

  it('gives each server container one service, its own address, and the PostgreSQL it shares', () => {
    for (const name of SERVER_SERVICES) {
      const server = service(name);
      expect(serverInvocation(server)?.service).toBe(name.replace('temporal-', ''));
      expect(String((server.entrypoint as string[] | undefined)?.[2])).toContain('BIND_ON_IP="$$(hostname -i)"');
      expect(environmentOf(server)).toMatchObject({ POSTGRES_SEEDS: 'postgresql', DB_PORT: '5432' });
      expect(server.restart).toBe('unless-stopped');
      expect(server.healthcheck?.test).toBeDefined();
    }
    // Only the frontend is published, on loopback.
    expect(service('temporal-frontend').ports).toEqual(['127.0.0.1:7233:7233']);
    for (const name of SERVER_SERVICES.filter((server) => server !== 'temporal-frontend')) {
      expect(service(name).ports).toBeUndefined();
    }
  });

  it('mounts the dynamic config file that DYNAMIC_CONFIG_FILE_PATH names, in the format the server reads', () => {
    const frontend = service('temporal-frontend');
    const onHost = hostPathOf(frontend, environmentOf(frontend).DYNAMIC_CONFIG_FILE_PATH ?? '');
    expect(onHost).toBeDefined();
    expect(existsSync(onHost ?? '')).toBe(true);

    const dynamicConfig = parse(readFileSync(onHost ?? '', 'utf8')) as Record<string, unknown>;
    for (const [key, entries] of Object.entries(dynamicConfig)) {
      // Each key holds a list of { value, constraints }; a bare value is ignored by the server with only a log line.
      expect({ key, entries }).toEqual({
        key,
        entries: expect.arrayContaining([expect.objectContaining({ value: expect.anything() })]),
      });
    }
    for (const key of [
      'system.forceSearchAttributesCacheRefreshOnRead',
      'frontend.enableUpdateWorkflowExecution',
      'frontend.enableExecuteMultiOperation',
      'system.enableActivityEagerExecution',
    ]) {
      expect(dynamicConfig).toHaveProperty([key, 0, 'value'], true);
    }
    expect(dynamicConfig).toHaveProperty(['limit.maxIDLength', 0, 'value'], 255);
  });

  it('pins the four server containers and both admin-tools jobs to one server release', () => {
    const releases = [...SERVER_SERVICES, 'temporal-schema', 'temporal-namespace'].map((name) =>
      releaseOf(service(name).image),
    );
    expect(releases[0]).toBeDefined();
    expect(new Set(releases)).toEqual(new Set([releases[0]]));
  });
});

describe('the Dockerfiles compose builds', () => {
  const dockerfiles = dockerfilesOf(compose, REPO_ROOT);
  const pnpmVersion = (
    JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { packageManager: string }
  ).packageManager.split('@')[1];

  it('cover every app service', () => {
    expect(dockerfiles.map((dockerfile) => dockerfile.service).sort()).toEqual([...APP_SERVICES].sort());
  });

  describe.each(dockerfiles)('$service: $path', ({ path }) => {
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    const packageName = (JSON.parse(readFileSync(join(dirname(path), 'package.json'), 'utf8')) as { name: string })
      .name;

    it('exists, has at least two stages, runs as a non-root USER and pins its base image', () => {
      expect(existsSync(path)).toBe(true);
      expect(dockerfileProblems(text)).toEqual([]);
    });

    it(`installs the pinned pnpm and deploys its own package with production dependencies`, () => {
      expect(text).toContain(`npm install -g pnpm@${pnpmVersion}`);
      expect(text).toContain('pnpm install --frozen-lockfile');
      expect(text).toContain(`pnpm deploy --filter ${packageName} --prod`);
    });

    it('starts node dist/main.js in the final stage', () => {
      const final = stagesOf(text).at(-1);
      const cmd = final?.instructions.filter((instruction) => instruction.keyword === 'CMD').at(-1);
      expect(cmd?.argument).toBe('["node", "dist/main.js"]');
    });
  });

  it('share one build stage, instruction for instruction, so BuildKit builds the workspace once for all three', () => {
    const buildStages = dockerfiles.map(({ path }) => {
      const build = stagesOf(readFileSync(path, 'utf8')).find((stage) => stage.name === 'build');
      // Comments and line numbers do not enter BuildKit's cache key; base image and instructions do.
      return JSON.stringify([build?.base, build?.instructions.map(({ keyword, argument }) => [keyword, argument])]);
    });
    expect(buildStages[0]).toContain('pnpm -r build');
    expect(new Set(buildStages).size).toBe(1);
  });
});

/** A small, valid compose file; each hostile case below changes one thing in it. */
const FIXTURE = `
services:
  postgresql:
    image: postgres:16.4-alpine
    healthcheck: { test: ['CMD-SHELL', 'pg_isready'] }
  lock-simulator:
    image: lockkeys/lock-simulator:0.1.0
    environment:
      LOCK_SIM_HOST: 0.0.0.0
      LOCK_SIM_DB: /data/lock-simulator.sqlite
      LOCK_BACKEND_TOKEN: \${LOCK_BACKEND_TOKEN:?set LOCK_BACKEND_TOKEN}
    volumes: ['lock-simulator-data:/data']
    healthcheck: { test: ['CMD', 'node', '-e', 'probe(3100)'] }
  worker:
    image: lockkeys/worker:0.1.0
    deploy: { replicas: 2 }
    depends_on: { lock-simulator: { condition: service_healthy } }
    environment:
      TEMPORAL_ADDRESS: temporal-frontend:7233
      LOCK_BACKEND_URL: http://lock-simulator:3100
      LOCK_BACKEND_TOKEN: \${LOCK_BACKEND_TOKEN:?set LOCK_BACKEND_TOKEN}
      WORKER_HEALTH_HOST: 0.0.0.0
    healthcheck: { test: ['CMD', 'node', '-e', 'probe(9465)'] }
  gateway:
    image: lockkeys/gateway:0.1.0
    depends_on: { postgresql: { condition: service_healthy } }
    environment:
      NODE_ENV: production
      HOST: 0.0.0.0
      JWT_SECRET: \${JWT_SECRET:?set JWT_SECRET}
      API_KEYS_FILE: /run/secrets/api_keys
      TEMPORAL_ADDRESS: temporal-frontend:7233
    secrets: [api_keys]
    healthcheck: { test: ['CMD', 'node', '-e', 'probe(3000)'] }
secrets:
  api_keys: { file: ./api-keys.json }
volumes:
  lock-simulator-data:
`;

function mutate(text: string, from: string, to: string): string {
  if (!text.includes(from))
    throw new Error(`fixture has no ${JSON.stringify(from)}: the hostile case would test nothing`);
  return text.replace(from, to);
}

describe('the compose checks on hostile fixtures', () => {
  it('accept the unmodified fixture, so each failure below comes from its one change', () => {
    expect(composeProblems(FIXTURE, scratch)).toEqual([]);
  });

  it.each([
    [
      'image: postgres:latest',
      'image: postgres:16.4-alpine',
      'image: postgres:latest',
      /^postgresql: .*moving tag latest/,
    ],
    ['an untagged image', 'image: postgres:16.4-alpine', 'image: postgres', /^postgresql: postgres has no tag/],
    [
      'a floating major tag',
      'image: postgres:16.4-alpine',
      'image: postgres:16',
      /^postgresql: .*moves with every new release/,
    ],
    [
      'an image left to a variable',
      'image: postgres:16.4-alpine',
      'image: postgres:${PG_TAG}',
      /^postgresql: .*left to a variable/,
    ],
    ['a built app without an image name', '    image: lockkeys/gateway:0.1.0\n', '', /^gateway: no image name/],
    ['missing JWT_SECRET', '      JWT_SECRET: ${JWT_SECRET:?set JWT_SECRET}\n', '', /^gateway: JWT_SECRET is not set/],
    [
      'a JWT_SECRET that may be blank',
      '${JWT_SECRET:?set JWT_SECRET}',
      '${JWT_SECRET}',
      /^gateway: JWT_SECRET is empty whenever/,
    ],
    [
      'a JWT_SECRET defaulting to empty',
      '${JWT_SECRET:?set JWT_SECRET}',
      '${JWT_SECRET:-}',
      /^gateway: JWT_SECRET is empty whenever/,
    ],
    [
      'NODE_ENV not production',
      'NODE_ENV: production',
      'NODE_ENV: development',
      /^gateway: NODE_ENV is development, expected production/,
    ],
    ['missing API_KEYS_FILE', '      API_KEYS_FILE: /run/secrets/api_keys\n', '', /^gateway: API_KEYS_FILE is not set/],
    [
      'missing LOCK_SIM_DB',
      '      LOCK_SIM_DB: /data/lock-simulator.sqlite\n',
      '',
      /^lock-simulator: LOCK_SIM_DB is not set/,
    ],
    [
      'a worker on the default lock backend',
      '      LOCK_BACKEND_URL: http://lock-simulator:3100\n',
      '',
      /^worker: LOCK_BACKEND_URL is not set/,
    ],
    ['one worker', 'replicas: 2', 'replicas: 1', /^worker: 1 replica\(s\), at least 2 needed/],
    ['no worker replicas at all', '    deploy: { replicas: 2 }\n', '', /^worker: 1 replica\(s\)/],
    [
      'a worker without healthcheck',
      "    healthcheck: { test: ['CMD', 'node', '-e', 'probe(9465)'] }\n",
      '',
      /^worker: no healthcheck/,
    ],
    [
      'a dependency that is not a service',
      'depends_on: { lock-simulator:',
      'depends_on: { lock-simulatr:',
      /^worker: depends on lock-simulatr, which is not a service/,
    ],
    [
      'waiting for health that is never reported',
      "    healthcheck: { test: ['CMD-SHELL', 'pg_isready'] }\n",
      '',
      /^gateway: waits for postgresql to be healthy, but postgresql has no healthcheck/,
    ],
    ['an undeclared secret', 'secrets: [api_keys]', 'secrets: [api_key]', /^gateway: secret api_key is not declared/],
    [
      'an undeclared volume',
      "volumes: ['lock-simulator-data:/data']",
      "volumes: ['simulator-data:/data']",
      /^lock-simulator: volume simulator-data is not declared/,
    ],
    [
      'a key the Compose Specification does not know',
      'deploy: { replicas: 2 }',
      'deploy: { replicas: 2 }\n    replica_count: 2',
      /must NOT have additional properties \(replica_count\)/,
    ],
  ])('reject %s', (_case, from, to, expected) => {
    const problems = composeProblems(mutate(FIXTURE, from, to), scratch);
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });
});

/** A Dockerfile that passes; each hostile case below changes one thing in it. */
const DOCKERFILE = `
ARG NODE_IMAGE=node:20.19.5-bookworm-slim
FROM \${NODE_IMAGE} AS build
RUN pnpm -r build
FROM \${NODE_IMAGE} AS runtime
COPY --from=build /out ./
USER node
CMD ["node", "dist/main.js"]
`;

describe('the Dockerfile checks on hostile fixtures', () => {
  it('accept the unmodified fixture', () => {
    expect(dockerfileProblems(DOCKERFILE)).toEqual([]);
  });

  const replace = (from: string, to: string) => (text: string) => mutate(text, from, to);
  it.each([
    ['a single stage', replace('FROM ${NODE_IMAGE} AS build\nRUN pnpm -r build\n', ''), /has 1 stage\(s\)/],
    ['a final stage without USER', replace('USER node\n', ''), /final stage sets no USER, so it runs as root/],
    ['USER root', replace('USER node', 'USER root'), /final stage runs as root/],
    ['USER 0:0', replace('USER node', 'USER 0:0'), /final stage runs as 0:0/],
    [
      'a non-root USER in the build stage only',
      (text: string) =>
        replace('RUN pnpm -r build\n', 'RUN pnpm -r build\nUSER node\n')(replace('./\nUSER node\n', './\n')(text)),
      /final stage sets no USER/,
    ],
    ['node:latest', replace('node:20.19.5-bookworm-slim', 'node:latest'), /base image .*moving tag latest/],
    [
      'an untagged base image',
      replace('FROM ${NODE_IMAGE} AS runtime', 'FROM node AS runtime'),
      /base image node has no tag/,
    ],
    [
      'a base image left to an ARG without default',
      replace('ARG NODE_IMAGE=node:20.19.5-bookworm-slim', 'ARG NODE_IMAGE'),
      /base image .*left to a variable/,
    ],
  ])('reject %s', (_case, change, expected) => {
    expect(dockerfileProblems(change(DOCKERFILE))).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });
});

const composeCli = ensureComposeCli();
if ('skipReason' in composeCli) {
  console.warn(`docker compose config checks SKIPPED: ${composeCli.skipReason}`);
}
const describeWithCli = 'cli' in composeCli ? describe : describe.skip;
const cliName = 'cli' in composeCli ? composeCli.cli.version : `skipped: ${composeCli.skipReason}`;

describeWithCli(`docker compose config (${cliName})`, () => {
  const cli = 'cli' in composeCli ? composeCli.cli : undefined;
  const emptyEnvFile = join(scratch, 'empty.env');
  writeFileSync(emptyEnvFile, '');
  const config = (env: Readonly<Record<string, string>>) => {
    if (cli === undefined) throw new Error('no compose CLI');
    return composeConfig(cli, COMPOSE_FILE, emptyEnvFile, env);
  };

  it('accepts docker-compose.yml with the required variables, and interpolates as these checks do', () => {
    const result = config(HOST_ENV);
    expect(result).toMatchObject({ status: 0 });
    const resolved = parse(result.stdout) as ComposeDocument;
    expect(Object.keys(resolved.services ?? {}).sort()).toEqual(Object.keys(compose.services ?? {}).sort());
    const ours = interpolate(compose, HOST_ENV).value;
    for (const name of APP_SERVICES) {
      expect({ name, environment: environmentOf(resolved.services?.[name] ?? {}) }).toEqual({
        name,
        environment: environmentOf(ours.services?.[name] ?? {}),
      });
    }
    expect(resolved.services?.worker?.deploy?.replicas).toBe(2);
  });

  it.each(['JWT_SECRET', 'LOCK_BACKEND_TOKEN', 'LOCKKEYS_API_KEYS_FILE'])(
    'refuses to run without %s and names it',
    (variable) => {
      const env = Object.fromEntries(Object.entries(HOST_ENV).filter(([name]) => name !== variable));
      const result = config(env);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain(`set ${variable}`);
    },
  );

  it('rejects the hostile fixture with a dependency that is not a service', () => {
    const file = join(scratch, 'hostile-compose.yml');
    writeFileSync(file, mutate(FIXTURE, 'depends_on: { lock-simulator:', 'depends_on: { lock-simulatr:'));
    writeFileSync(join(scratch, 'api-keys.json'), '{"keys":[]}');
    if (cli === undefined) throw new Error('no compose CLI');
    const result = composeConfig(cli, file, emptyEnvFile, HOST_ENV);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('lock-simulatr');
  });
});
