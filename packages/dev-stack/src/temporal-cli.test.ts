import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TemporalCliUnavailableError, cachedCliPath, ensureTemporalCli, findTemporalCli } from './temporal-cli';

function fakeExecutable(dir: string, name = 'temporal'): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, '#!/bin/sh\necho fake\n');
  chmodSync(path, 0o755);
  return path;
}

const scratch = () => mkdtempSync(join(tmpdir(), 'lockkeys-cli-'));

test('TEMPORAL_CLI wins over PATH and the cache', () => {
  const dir = scratch();
  const explicit = fakeExecutable(join(dir, 'explicit'));
  fakeExecutable(join(dir, 'onpath'));
  expect(findTemporalCli({ TEMPORAL_CLI: explicit, PATH: join(dir, 'onpath'), XDG_CACHE_HOME: dir })).toBe(explicit);
});

test('a TEMPORAL_CLI that is not executable is a clear error', () => {
  expect(() => findTemporalCli({ TEMPORAL_CLI: '/nonexistent/temporal' })).toThrow(
    /TEMPORAL_CLI=\/nonexistent\/temporal is not an executable/,
  );
});

test('a temporal on PATH is used before the cache', () => {
  const dir = scratch();
  const onPath = fakeExecutable(join(dir, 'bin'));
  expect(findTemporalCli({ PATH: `/nowhere:${join(dir, 'bin')}`, XDG_CACHE_HOME: dir })).toBe(onPath);
});

test('the cache is keyed by version, outside the checkout', () => {
  const dir = scratch();
  expect(cachedCliPath({ XDG_CACHE_HOME: dir })).toBe(join(dir, 'lockkeys', 'temporal-cli', 'v1.5.1', 'temporal'));
  const cached = fakeExecutable(join(dir, 'lockkeys', 'temporal-cli', 'v1.5.1'));
  expect(findTemporalCli({ PATH: '/nowhere', XDG_CACHE_HOME: dir })).toBe(cached);
  expect(ensureTemporalCli({ PATH: '/nowhere', XDG_CACHE_HOME: dir })).toBe(cached);
});

test('no CLI and no Go: a message with the ways to get it, not a stack trace', () => {
  const dir = scratch();
  let error: unknown;
  try {
    ensureTemporalCli({ PATH: '/nowhere', XDG_CACHE_HOME: dir });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(TemporalCliUnavailableError);
  const message = (error as Error).message;
  expect(message).toMatch(/install Go/);
  expect(message).toMatch(/brew install temporal/);
  expect(message).toMatch(/releases/);
  expect(message).toMatch(/TEMPORAL_CLI=/);
});
