/**
 * Throughput of the gateway's auth path on one core (synchronous crypto on the main thread):
 * JWT verifications per second for each supported algorithm with the key as a string (parsed on every
 * verify) and as a KeyObject (parsed once, what the gateway does), then the full `authenticate()`
 * (JWT + API key) and the cost of rejecting a forged token. Run: `pnpm --filter @lockkeys/gateway bench:auth`.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { sign, verify, type Algorithm } from 'jsonwebtoken';
import { type ApiKeyRecord, createAuthenticator, jwtPublicKey, jwtSecretKey, sha256Hex } from '../auth';

const RUN_MS = 1_000;
const WARM_UP_MS = 200;

interface Result {
  name: string;
  opsPerSecond: number;
}

/** Calls `fn` in a tight loop for `ms` and returns calls per second. */
function measure(fn: () => void, ms: number): number {
  let count = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    // Check the clock every 64 calls, so reading it costs nothing next to the work measured.
    for (let i = 0; i < 64; i++) fn();
    count += 64;
    elapsed = performance.now() - start;
  }
  return (count / elapsed) * 1000;
}

function bench(name: string, fn: () => void): Result {
  fn(); // fail fast if the case itself is broken
  measure(fn, WARM_UP_MS);
  return { name, opsPerSecond: measure(fn, RUN_MS) };
}

/** Throws unless `fn` throws: a rejection case that accepted would measure the wrong path. */
function mustThrow(fn: () => void): () => void {
  return () => {
    try {
      fn();
    } catch {
      return;
    }
    throw new Error('expected a rejection');
  };
}

function jwtCases(): Result[] {
  const secret = 'bench-secret-0123456789-0123456789-abcdef';
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
  const claims = { sub: 'bench-user', org: 'acme' };

  const cases: Array<{
    algorithm: Algorithm;
    signingKey: string | KeyObject;
    stringKey: string;
    keyObject: KeyObject;
  }> = [
    { algorithm: 'HS256', signingKey: secret, stringKey: secret, keyObject: jwtSecretKey(secret) },
    {
      algorithm: 'RS256',
      signingKey: rsa.privateKey,
      stringKey: pem(rsa.publicKey),
      keyObject: jwtPublicKey(pem(rsa.publicKey)).key,
    },
    {
      algorithm: 'ES256',
      signingKey: ec.privateKey,
      stringKey: pem(ec.publicKey),
      keyObject: jwtPublicKey(pem(ec.publicKey)).key,
    },
  ];
  return cases.flatMap(({ algorithm, signingKey, stringKey, keyObject }) => {
    const token = sign(claims, signingKey, { algorithm, expiresIn: '1h' });
    const options = { algorithms: [algorithm] };
    return [
      bench(`${algorithm} verify, key as string`, () => void verify(token, stringKey, options)),
      bench(`${algorithm} verify, KeyObject`, () => void verify(token, keyObject, options)),
    ];
  });
}

function authenticatorCases(): Result[] {
  const secret = 'bench-secret-0123456789-0123456789-abcdef';
  const jwt = {
    algorithm: 'HS256' as const,
    key: jwtSecretKey(secret),
    keySource: 'JWT_SECRET' as const,
    clockToleranceSeconds: 5,
  };
  const token = `Bearer ${sign({ sub: 'bench-user' }, secret, { algorithm: 'HS256', expiresIn: '1h' })}`;
  const forged = `Bearer ${sign({ sub: 'bench-user' }, 'not-the-secret-0123456789-abcdef', { algorithm: 'HS256' })}`;
  const results: Result[] = [];
  for (const keyCount of [10, 1000]) {
    const apiKeys: ApiKeyRecord[] = Array.from({ length: keyCount }, (_, i) => ({
      id: `org-${i}`,
      sha256: sha256Hex(`lk_bench_${i}`),
      orgId: `org-${i}`,
      locks: '*',
    }));
    // The last entry: every entry is compared anyway, so its position must not matter.
    const presented = `lk_bench_${keyCount - 1}`;
    const authenticator = createAuthenticator({ jwt, apiKeys });
    results.push(
      bench(
        `authenticate() HS256 + API key, ${keyCount} keys`,
        () => void authenticator.authenticate(token, presented),
      ),
    );
  }
  const authenticator = createAuthenticator({
    jwt,
    apiKeys: [{ id: 'a', sha256: sha256Hex('k'), orgId: 'a', locks: '*' }],
  });
  results.push(
    bench(
      'reject forged HS256 token (401)',
      mustThrow(() => authenticator.authenticate(forged, 'k')),
    ),
  );
  results.push(
    bench(
      'reject non-JWT bearer (401)',
      mustThrow(() => authenticator.authenticate('Bearer abc', 'k')),
    ),
  );
  return results;
}

function main(): void {
  process.stdout.write(`auth path on one core — Node ${process.version}, ${RUN_MS} ms per case\n\n`);
  const results = [...jwtCases(), ...authenticatorCases()];
  const width = Math.max(...results.map((r) => r.name.length));
  process.stdout.write(`${'case'.padEnd(width)}  ${'ops/s'.padStart(10)}  ${'µs/op'.padStart(8)}\n`);
  for (const { name, opsPerSecond } of results) {
    const perOp = (1e6 / opsPerSecond).toFixed(1);
    process.stdout.write(
      `${name.padEnd(width)}  ${Math.round(opsPerSecond).toLocaleString('en-US').padStart(10)}  ${perOp.padStart(8)}\n`,
    );
  }
}

main();
