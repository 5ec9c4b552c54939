import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';

/** Claims of a dev token; `sub` is required by the gateway, `org` must match the API key's organization. */
export interface DevTokenClaims {
  sub: string;
  org?: string;
  [claim: string]: unknown;
}

/** An HS256 JWT signed with `secret`, valid for `expiresIn` seconds (the dev curl and the tests use it). */
export function mintJwt(secret: string, claims: DevTokenClaims, expiresInSeconds = 24 * 3600): string {
  return jwt.sign(claims, createSecretKey(Buffer.from(secret, 'utf8')), {
    algorithm: 'HS256',
    expiresIn: expiresInSeconds,
  });
}
