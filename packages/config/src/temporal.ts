import { accessSync, constants, readFileSync } from 'node:fs';
import { platform } from 'node:os';
import { isAbsolute, join } from 'node:path';
import {
  type ClientConfigProfile,
  type ConfigDataSource,
  loadClientConfigProfile,
  toClientOptions,
} from '@temporalio/envconfig';
import { boolean, type Env, parseEnv, problem, quoted, secret, text, variable } from './env';
import { ConfigError } from './errors';

/** Where the Temporal frontend is when nothing says otherwise: the local dev server. */
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
/** The namespace when nothing says otherwise. */
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

/** TLS settings, already read from their files (the SDK's `TLSConfig`). */
export interface TemporalTlsOptions {
  serverNameOverride?: string;
  serverRootCACertificate?: Uint8Array;
  clientCertPair?: { crt: Uint8Array; key: Uint8Array };
}

/** What `Connection.connect` / `Connection.lazy` (client) and `NativeConnection.connect` (worker) both take. */
export interface TemporalConnectionOptions {
  /** `host:port` of the frontend. */
  address: string;
  /** Absent: plaintext. `true`: TLS with the system's trusted CAs. */
  tls?: TemporalTlsOptions | true;
  /** Sent as a bearer token on every call. */
  apiKey?: string;
  /** gRPC headers sent with every call (`TEMPORAL_GRPC_META_*`, a profile's `grpc_meta`). */
  metadata?: Record<string, string>;
}

/** How to reach Temporal, from the environment and the Temporal CLI's TOML profiles. */
export interface TemporalConnection {
  /** Pass to `Connection.connect`, `Connection.lazy` or `NativeConnection.connect` as is. */
  connectionOptions: TemporalConnectionOptions;
  /** Namespace of the runs (the `Client`'s and the `Worker`'s). */
  namespace: string;
  /** Same as `connectionOptions.address`, for logs. */
  address: string;
  /** Whether the connection uses TLS, for logs. */
  tls: boolean;
  /** How this process authenticates, for logs (never the credential). */
  auth: 'mTLS' | 'API key' | 'none';
  /** The TOML file and profile the settings came from, when a file was read. */
  profile?: { file: string; name: string };
}

/** The variables `@temporalio/envconfig` reads (besides the `TEMPORAL_GRPC_META_*` family). */
export const TEMPORAL_CLIENT_VARIABLES = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_CERT_DATA',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
  'TEMPORAL_CODEC_ENDPOINT',
  'TEMPORAL_CODEC_AUTH',
  'TEMPORAL_PROFILE',
  'TEMPORAL_CONFIG_FILE',
] as const;

const GRPC_META_PREFIX = 'TEMPORAL_GRPC_META_';

/** True for every variable that changes how a Temporal client connects (see {@link TEMPORAL_CLIENT_VARIABLES}). */
export function isTemporalClientVariable(name: string): boolean {
  return (TEMPORAL_CLIENT_VARIABLES as readonly string[]).includes(name) || name.startsWith(GRPC_META_PREFIX);
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):([0-9]{1,5})$/;

/** Problem with an address, or undefined when it is `host:port`. */
function addressProblem(address: string): string | undefined {
  const match = HOST_PORT.exec(address);
  const portNumber = Number(match?.[2]);
  if (match && portNumber >= 1 && portNumber <= 65535) return undefined;
  return `must be host:port (got ${quoted(address)})`;
}

const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const namespaceProblem = (namespace: string) =>
  NAMESPACE.test(namespace)
    ? undefined
    : `must be a namespace name (letters, digits, ".", "_", "-"; got ${quoted(namespace)})`;

const path = text({ maxLength: 4096 });

/** The connection variables, checked before the SDK sees them: it reads any `TEMPORAL_TLS` but `1`/`true` as false. */
const temporalEnv = {
  TEMPORAL_ADDRESS: variable((address) => {
    const issue = addressProblem(address);
    return issue ? problem(issue) : address;
  }),
  TEMPORAL_NAMESPACE: variable((namespace) => {
    const issue = namespaceProblem(namespace);
    return issue ? problem(issue) : namespace;
  }),
  TEMPORAL_API_KEY: secret({ maxLength: 16_384 }),
  TEMPORAL_TLS: boolean(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: path,
  TEMPORAL_TLS_CLIENT_CERT_DATA: text({ maxLength: 65_536 }),
  TEMPORAL_TLS_CLIENT_KEY_PATH: path,
  TEMPORAL_TLS_CLIENT_KEY_DATA: secret({ maxLength: 65_536 }),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: path,
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: text({ maxLength: 65_536 }),
  TEMPORAL_TLS_SERVER_NAME: text({ maxLength: 253 }),
  TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: variable((value) =>
    value === 'false'
      ? false
      : problem('is not supported by the Temporal TypeScript SDK (host names are always verified)'),
  ),
  TEMPORAL_PROFILE: text({
    maxLength: 255,
    pattern: { regex: /^[A-Za-z0-9._-]+$/, description: 'a profile name (letters, digits, ".", "_", "-")' },
  }),
  TEMPORAL_CONFIG_FILE: path,
};

/**
 * The TOML file the Temporal CLI and SDKs share when `TEMPORAL_CONFIG_FILE` is unset:
 * `$XDG_CONFIG_HOME` or `~/.config` (macOS: `~/Library/Application Support`, Windows: `%APPDATA%`) + `/temporalio/temporal.toml`.
 * Taken from `env`, so a test's env object never finds the developer's own file.
 */
export function defaultTemporalConfigFile(env: Env): string | undefined {
  const os = platform();
  let dir: string | undefined;
  if (os === 'win32') dir = env.APPDATA || undefined;
  else if (os === 'darwin') dir = env.HOME ? join(env.HOME, 'Library', 'Application Support') : undefined;
  else if (env.XDG_CONFIG_HOME) dir = isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : undefined;
  else dir = env.HOME ? join(env.HOME, '.config') : undefined;
  return dir === undefined ? undefined : join(dir, 'temporalio', 'temporal.toml');
}

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code ?? 'read error';
const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();

/**
 * How to reach Temporal, the way the Temporal CLI and SDKs do it (`@temporalio/envconfig`): the profile
 * `TEMPORAL_PROFILE` (default `default`) of the TOML file `TEMPORAL_CONFIG_FILE` (default
 * {@link defaultTemporalConfigFile}), overridden by `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`,
 * `TEMPORAL_API_KEY`, `TEMPORAL_TLS`, `TEMPORAL_TLS_CLIENT_CERT_PATH` / `_KEY_PATH`,
 * `TEMPORAL_TLS_SERVER_CA_CERT_PATH`, `TEMPORAL_TLS_SERVER_NAME` (and their `_DATA` forms), `TEMPORAL_GRPC_META_*`.
 * Defaults: {@link DEFAULT_TEMPORAL_ADDRESS}, namespace `default`, plaintext. Reads only `env`; empty
 * variables count as unset.
 *
 * Stricter than the SDK, so a typo stops start-up instead of connecting somewhere else: an explicit
 * `TEMPORAL_CONFIG_FILE` must exist, booleans are `true`/`false`, a certificate needs its key, TLS files must be
 * readable now, and TLS switched off contradicts certificates or an API key. Throws {@link ConfigError}
 * with one line per problem, never echoing a credential.
 */
export function loadTemporalConnection(env: Env): TemporalConnection {
  const vars = parseEnv(temporalEnv, env);
  const problems: string[] = [];

  const explicitFile = vars.TEMPORAL_CONFIG_FILE;
  const file = explicitFile ?? defaultTemporalConfigFile(env);
  const fileLabel = explicitFile !== undefined ? `TEMPORAL_CONFIG_FILE ${file}` : `Temporal config file ${file}`;
  let fileData: string | undefined;
  if (file !== undefined) {
    try {
      fileData = readFileSync(file, 'utf8');
    } catch (error) {
      // The CLI's default file is optional; a file someone named must be there.
      if (explicitFile !== undefined || errorCode(error) !== 'ENOENT') {
        throw new ConfigError(`${fileLabel}: cannot be read (${errorCode(error)})`);
      }
    }
  }
  const profileName = vars.TEMPORAL_PROFILE ?? 'default';
  const profileLabel = `${fileLabel} profile "${profileName}"`;
  if (fileData === undefined && vars.TEMPORAL_PROFILE !== undefined) {
    throw new ConfigError(
      `TEMPORAL_PROFILE "${profileName}": no Temporal config file to take it from (set TEMPORAL_CONFIG_FILE)`,
    );
  }

  // The SDK sees the checked variables only, empty ones removed (an empty TEMPORAL_ADDRESS would replace the profile's).
  const sdkEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !isTemporalClientVariable(name)) continue;
    if (value === '' && !name.startsWith(GRPC_META_PREFIX)) continue; // an empty grpc-meta variable removes that header
    if (name === 'TEMPORAL_CONFIG_FILE' || name === 'TEMPORAL_PROFILE') continue;
    sdkEnv[name] = value;
  }

  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({
      ...(fileData !== undefined ? { configSource: { data: fileData } } : { disableFile: true }),
      ...(vars.TEMPORAL_PROFILE !== undefined && { profile: vars.TEMPORAL_PROFILE }),
      overrideEnvVars: sdkEnv,
    });
  } catch (error) {
    const message = firstLine(error);
    if (/^Profile '.*' not found/.test(message)) {
      throw new ConfigError(`TEMPORAL_PROFILE "${profileName}": no such profile in ${file}`);
    }
    throw new ConfigError(`${fileData !== undefined ? profileLabel : 'TEMPORAL_*'}: ${message}`);
  }

  /** Names where a setting came from: the variable when it was set, else the profile's key. */
  const origin = (tomlKey: string, ...names: Array<(typeof TEMPORAL_CLIENT_VARIABLES)[number]>) =>
    names.find((name) => env[name]) ?? `${profileLabel}: ${tomlKey}`;

  const address = profile.address ?? DEFAULT_TEMPORAL_ADDRESS;
  const addressIssue = addressProblem(address);
  if (addressIssue) problems.push(`${origin('address', 'TEMPORAL_ADDRESS')} ${addressIssue}`);
  const namespace = profile.namespace ?? DEFAULT_TEMPORAL_NAMESPACE;
  const namespaceIssue = namespaceProblem(namespace);
  if (namespaceIssue) problems.push(`${origin('namespace', 'TEMPORAL_NAMESPACE')} ${namespaceIssue}`);

  const tls = profile.tls;
  const clientCertFrom = origin(
    'tls.client_cert_path',
    'TEMPORAL_TLS_CLIENT_CERT_PATH',
    'TEMPORAL_TLS_CLIENT_CERT_DATA',
  );
  const clientKeyFrom = origin('tls.client_key_path', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_CLIENT_KEY_DATA');
  const serverCaFrom = origin(
    'tls.server_ca_cert_path',
    'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
    'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
  );
  if (tls?.disabled) {
    const contradicting = [
      tls.clientCert && clientCertFrom,
      tls.clientKey && clientKeyFrom,
      tls.serverCACert && serverCaFrom,
      tls.serverName && origin('tls.server_name', 'TEMPORAL_TLS_SERVER_NAME'),
      // An API key over plaintext would travel in clear.
      profile.apiKey && origin('api_key', 'TEMPORAL_API_KEY'),
    ].filter(Boolean);
    if (contradicting.length > 0) {
      const switchedOff = env.TEMPORAL_TLS ? 'TEMPORAL_TLS=false' : `${profileLabel}: tls.disabled = true`;
      problems.push(`${switchedOff} contradicts ${contradicting.join(', ')}`);
    }
  }
  if (tls && (tls.clientCert === undefined) !== (tls.clientKey === undefined)) {
    // The SDK would quietly connect without a client certificate.
    const fromEnv = [clientCertFrom, clientKeyFrom].some((from) => from.startsWith('TEMPORAL_TLS_'));
    problems.push(
      fromEnv
        ? 'TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together: set both or neither'
        : `${profileLabel}: tls.client_cert_path and tls.client_key_path go together: set both or neither`,
    );
  }
  const files: Array<[ConfigDataSource | undefined, string]> = [
    [tls?.clientCert, clientCertFrom],
    [tls?.clientKey, clientKeyFrom],
    [tls?.serverCACert, serverCaFrom],
  ];
  for (const [source, where] of files) {
    if (source === undefined || !('path' in source)) continue;
    try {
      // A missing certificate should stop start-up, not fail the first call.
      accessSync(source.path, constants.R_OK);
    } catch (error) {
      problems.push(`${where} ${source.path}: cannot be read (${errorCode(error)})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  let sdkOptions: ReturnType<typeof toClientOptions>['connectionOptions'];
  try {
    sdkOptions = toClientOptions(profile).connectionOptions;
  } catch (error) {
    throw new ConfigError(`${profileLabel}: ${firstLine(error)}`);
  }
  const tlsOption = tlsOptions(sdkOptions.tls);
  const metadata = profile.grpcMeta && Object.keys(profile.grpcMeta).length > 0 ? { ...profile.grpcMeta } : undefined;
  const connectionOptions: TemporalConnectionOptions = {
    address,
    ...(tlsOption !== undefined && { tls: tlsOption }),
    ...(profile.apiKey !== undefined && { apiKey: profile.apiKey }),
    ...(metadata !== undefined && { metadata }),
  };
  return {
    connectionOptions,
    namespace,
    address,
    tls: tlsOption !== undefined,
    auth:
      typeof tlsOption === 'object' && tlsOption.clientCertPair
        ? 'mTLS'
        : profile.apiKey !== undefined
          ? 'API key'
          : 'none',
    ...(fileData !== undefined && file !== undefined && { profile: { file, name: profileName } }),
  };
}

/** The SDK's TLS option without its undefined fields; `undefined` for plaintext. */
function tlsOptions(tls: unknown): TemporalTlsOptions | true | undefined {
  if (tls === true) return true;
  if (typeof tls !== 'object' || tls === null) return undefined;
  const { serverNameOverride, serverRootCACertificate, clientCertPair } = tls as TemporalTlsOptions;
  return {
    ...(serverNameOverride !== undefined && { serverNameOverride }),
    ...(serverRootCACertificate !== undefined && { serverRootCACertificate }),
    ...(clientCertPair !== undefined && { clientCertPair }),
  };
}
