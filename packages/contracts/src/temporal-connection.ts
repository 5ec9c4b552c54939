import { z } from 'zod';
import { DEFAULT_TASK_QUEUE } from './workflow';

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/**
 * The `TEMPORAL_*` variables the gateway and the worker share: a local dev server by default, or a remote
 * cluster / Temporal Cloud with mTLS (`TEMPORAL_TLS_CERT` + `TEMPORAL_TLS_KEY`) or an API key.
 */
export const temporalConnectionEnvSchema = z
  .object({
    TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
    /** `true` forces TLS without client certificates (e.g. an API key, or a server-authenticated endpoint). */
    TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
    /** Paths of the client certificate and key (PEM) for mTLS. */
    TEMPORAL_TLS_CERT: optionalText,
    TEMPORAL_TLS_KEY: optionalText,
    /** Path of a CA (PEM) for servers whose certificate the system does not trust. */
    TEMPORAL_TLS_CA: optionalText,
    TEMPORAL_TLS_SERVER_NAME: optionalText,
    TEMPORAL_API_KEY: optionalText,
  })
  .superRefine((env, ctx) => {
    if ((env.TEMPORAL_TLS_CERT === undefined) !== (env.TEMPORAL_TLS_KEY === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['TEMPORAL_TLS_CERT'],
        message: 'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together',
      });
    }
    if (env.TEMPORAL_TLS === 'false' && (env.TEMPORAL_TLS_CERT || env.TEMPORAL_API_KEY || env.TEMPORAL_TLS_CA)) {
      ctx.addIssue({
        code: 'custom',
        path: ['TEMPORAL_TLS'],
        message: 'TEMPORAL_TLS=false contradicts the TLS / API key settings',
      });
    }
  });

/** Where and how to reach Temporal. */
export interface TemporalConnectionSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** TLS off (`undefined`), on with system trust (`{}`), or with files to read. */
  tls?: { certPath?: string; keyPath?: string; caPath?: string; serverName?: string };
  apiKey?: string;
}

/** Settings from parsed env. TLS is on when any TLS setting or an API key is given, unless TEMPORAL_TLS=false. */
export function temporalConnectionSettings(
  env: z.infer<typeof temporalConnectionEnvSchema>,
): TemporalConnectionSettings {
  const wantsTls =
    env.TEMPORAL_TLS === 'true' ||
    (env.TEMPORAL_TLS !== 'false' &&
      [env.TEMPORAL_TLS_CERT, env.TEMPORAL_TLS_CA, env.TEMPORAL_TLS_SERVER_NAME, env.TEMPORAL_API_KEY].some(Boolean));
  return {
    address: env.TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    ...(wantsTls
      ? {
          tls: {
            ...(env.TEMPORAL_TLS_CERT ? { certPath: env.TEMPORAL_TLS_CERT, keyPath: env.TEMPORAL_TLS_KEY } : {}),
            ...(env.TEMPORAL_TLS_CA ? { caPath: env.TEMPORAL_TLS_CA } : {}),
            ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverName: env.TEMPORAL_TLS_SERVER_NAME } : {}),
          },
        }
      : {}),
    ...(env.TEMPORAL_API_KEY ? { apiKey: env.TEMPORAL_API_KEY } : {}),
  };
}

/** The TLS / API-key part of Temporal's connection options; `readFile` is the app's (contracts has no fs). */
export function temporalConnectionOptions(
  settings: TemporalConnectionSettings,
  readFile: (path: string) => Uint8Array,
): {
  address: string;
  tls?: {
    clientCertPair?: { crt: Uint8Array; key: Uint8Array };
    serverRootCACertificate?: Uint8Array;
    serverNameOverride?: string;
  };
  apiKey?: string;
} {
  const { tls } = settings;
  return {
    address: settings.address,
    ...(tls
      ? {
          tls: {
            ...(tls.certPath && tls.keyPath
              ? { clientCertPair: { crt: readFile(tls.certPath), key: readFile(tls.keyPath) } }
              : {}),
            ...(tls.caPath ? { serverRootCACertificate: readFile(tls.caPath) } : {}),
            ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
          },
        }
      : {}),
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
  };
}
