import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import Ajv from 'ajv';
import {
  type ComposeDocument,
  type ComposeService,
  dependenciesOf,
  emptyValueRisk,
  environmentOf,
} from './compose-file';
import { unpinnedReason } from './image-ref';

/** The Compose Specification JSON schema (draft-07), as shipped and kept current by the dclint package. */
export function composeSpecSchema(): Record<string, unknown> {
  const packageJson = require.resolve('dclint/package.json');
  const text = readFileSync(join(dirname(packageJson), 'schemas', 'compose.schema.json'), 'utf8');
  // Its $schema URL lacks the `#` Ajv registers draft-07 under; draft-07 is Ajv's default, so drop it.
  const { $schema: _metaSchema, ...schema } = JSON.parse(text) as Record<string, unknown>;
  return schema;
}

let validateCompose: ReturnType<Ajv['compile']> | undefined;

/** Schema violations of an interpolated compose document, one line each, or an empty list. */
export function schemaProblems(document: unknown): string[] {
  // strict: false because the schema carries annotations (`deprecated`, descriptions) Ajv's strict mode rejects.
  validateCompose ??= new Ajv({ allErrors: true, strict: false }).compile(composeSpecSchema());
  if (validateCompose(document)) return [];
  return (validateCompose.errors ?? []).map((error) => {
    const detail = error.keyword === 'additionalProperties' ? ` (${String(error.params.additionalProperty)})` : '';
    return `${error.instancePath || '/'} ${error.message ?? 'is invalid'}${detail}`;
  });
}

const servicesOf = (document: ComposeDocument): [string, ComposeService][] => Object.entries(document.services ?? {});

/** Services whose image is not pinned to one release (no image at all counts: the built image needs a name). */
export function unpinnedImages(document: ComposeDocument): string[] {
  return servicesOf(document).flatMap(([name, service]) => {
    if (service.image === undefined) return [`${name}: no image name (a built image needs a pinned name too)`];
    const reason = unpinnedReason(service.image);
    return reason === undefined ? [] : [`${name}: ${reason}`];
  });
}

/**
 * Environment a service must get, by service: `null` means "set, to something that cannot be empty",
 * a string means exactly that value.
 */
export type EnvironmentRequirements = Record<string, Record<string, string | null>>;

/** Each required variable that is missing, empty-able or different from the expected value. */
export function missingEnvironment(document: ComposeDocument, required: EnvironmentRequirements): string[] {
  return Object.entries(required).flatMap(([serviceName, variables]) => {
    const service = document.services?.[serviceName];
    if (service === undefined) return [`${serviceName}: service is missing`];
    const environment = environmentOf(service);
    return Object.entries(variables).flatMap(([variable, expected]) => {
      const raw = environment[variable];
      if (!(variable in environment)) return [`${serviceName}: ${variable} is not set`];
      if (expected !== null)
        return raw === expected ? [] : [`${serviceName}: ${variable} is ${String(raw)}, expected ${expected}`];
      const risk = emptyValueRisk(raw);
      return risk === undefined ? [] : [`${serviceName}: ${variable} ${risk}`];
    });
  });
}

/** Problems with the replica count of `serviceName` (unset means 1). */
export function replicaProblems(document: ComposeDocument, serviceName: string, minimum: number): string[] {
  const replicas = document.services?.[serviceName]?.deploy?.replicas ?? 1;
  return replicas >= minimum ? [] : [`${serviceName}: ${replicas} replica(s), at least ${minimum} needed`];
}

const hasHealthcheck = (service: ComposeService | undefined) =>
  service?.healthcheck !== undefined && service.healthcheck.disable !== true && service.healthcheck.test !== undefined;

/** Which of `serviceNames` have no (enabled) healthcheck. */
export function missingHealthchecks(document: ComposeDocument, serviceNames: readonly string[]): string[] {
  return serviceNames
    .filter((name) => !hasHealthcheck(document.services?.[name]))
    .map((name) => `${name}: no healthcheck`);
}

const CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);
// A service that restarts whenever it exits never settles as "completed successfully".
const ALWAYS_RESTARTS = new Set(['always', 'unless-stopped']);

/**
 * `depends_on` entries `docker compose up` would fail or hang on: unknown services, unknown conditions,
 * `service_healthy` on a service without a healthcheck, `service_completed_successfully` on one that always restarts.
 */
export function dependencyProblems(document: ComposeDocument): string[] {
  const services = document.services ?? {};
  return servicesOf(document).flatMap(([name, service]) =>
    Object.entries(dependenciesOf(service)).flatMap(([dependency, condition]) => {
      const target = services[dependency];
      if (target === undefined) return [`${name}: depends on ${dependency}, which is not a service`];
      if (!CONDITIONS.has(condition)) return [`${name}: unknown condition ${condition} on ${dependency}`];
      if (condition === 'service_healthy' && !hasHealthcheck(target)) {
        return [`${name}: waits for ${dependency} to be healthy, but ${dependency} has no healthcheck`];
      }
      if (condition === 'service_completed_successfully' && ALWAYS_RESTARTS.has(target.restart ?? '')) {
        return [
          `${name}: waits for ${dependency} to complete, but ${dependency} restarts with restart: ${target.restart}`,
        ];
      }
      return [];
    }),
  );
}

/**
 * References that point nowhere: named volumes and secrets not declared at the top level, and bind-mount
 * sources missing under `baseDir` (Docker would silently create an empty directory in their place).
 */
export function referenceProblems(document: ComposeDocument, baseDir: string): string[] {
  const volumes = new Set(Object.keys(document.volumes ?? {}));
  const secrets = new Set(Object.keys(document.secrets ?? {}));
  return servicesOf(document).flatMap(([name, service]) => [
    ...(service.volumes ?? []).flatMap((volume) => {
      const source = typeof volume === 'string' ? (volume.split(':')[0] ?? '') : (volume.source ?? '');
      if (
        source === '' ||
        (typeof volume !== 'string' && volume.type !== undefined && volume.type !== 'bind' && volume.type !== 'volume')
      ) {
        return [];
      }
      if (source.startsWith('.') || isAbsolute(source)) {
        return existsSync(resolve(baseDir, source)) ? [] : [`${name}: bind-mount source ${source} does not exist`];
      }
      return volumes.has(source) ? [] : [`${name}: volume ${source} is not declared under volumes:`];
    }),
    ...(service.secrets ?? []).flatMap((secret) => {
      const source = typeof secret === 'string' ? secret : secret.source;
      return secrets.has(source) ? [] : [`${name}: secret ${source} is not declared under secrets:`];
    }),
  ]);
}

/** The Dockerfile each built service names, as an absolute path (`build.context` + `build.dockerfile`). */
export function dockerfilesOf(document: ComposeDocument, baseDir: string): { service: string; path: string }[] {
  return servicesOf(document).flatMap(([name, service]) => {
    if (service.build === undefined) return [];
    const context = typeof service.build === 'string' ? service.build : (service.build.context ?? '.');
    const dockerfile = typeof service.build === 'string' ? 'Dockerfile' : (service.build.dockerfile ?? 'Dockerfile');
    return [{ service: name, path: resolve(baseDir, context, dockerfile) }];
  });
}
