/**
 * Built-in development credentials: what `npm run dev` and the test suites use when no real secret or key
 * file is configured. Every app refuses them with `NODE_ENV=production`.
 */

/** HS256 secret of the gateway when `JWT_SECRET` is unset outside production. */
export const DEV_JWT_SECRET = 'lockkeys-dev-secret-not-for-production';

/** API key the gateway accepts when `API_KEYS_FILE` is unset outside production (org {@link DEV_ORG_ID}, every lock). */
export const DEV_API_KEY = 'lk_dev_0000000000000000000000000000';

/** Organization of {@link DEV_API_KEY}. */
export const DEV_ORG_ID = 'dev';

/** Bearer token shared by the worker and the lock simulator when `LOCK_BACKEND_TOKEN` is unset outside production. */
export const DEV_LOCK_BACKEND_TOKEN = 'dev-lock-token';
