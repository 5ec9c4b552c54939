import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ignore from '@balena/dockerignore';
import { parseCompose } from './compose-file';
import { instructionsOf } from './dockerfile';
import { REPO_ROOT, repoPath } from './repo';

// Docker's own matching rules (Go filepath.Match plus `**`), not .gitignore's.
const dockerignore = ignore().add(readFileSync(repoPath('.dockerignore'), 'utf8'));
const inContext = (path: string) => !dockerignore.ignores(path);

const WORKSPACE_DIRS = ['apps', 'packages'].flatMap((group) =>
  readdirSync(repoPath(group))
    .map((name) => join(group, name))
    .filter((dir) => existsSync(repoPath(dir, 'package.json'))),
);

function filesUnder(dir: string): string[] {
  if (!existsSync(repoPath(dir))) return [];
  return readdirSync(repoPath(dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(repoPath(path)).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('the Docker build context (.dockerignore)', () => {
  it.each([
    'package.json',
    'pnpm-lock.yaml',
    'pnpm-workspace.yaml',
    '.npmrc',
    'tsconfig.base.json',
    'tsconfig.json',
    'packages/workflows/bundle.js',
    'packages/workflows/tsconfig.json',
    'apps/worker/src/main.ts',
  ])('sends %s, which the image build reads', (path) => {
    expect(inContext(path)).toBe(true);
  });

  it.each([
    'node_modules/.pnpm/lock.yaml',
    'apps/gateway/node_modules/express/index.js',
    'packages/contracts/dist/index.js',
    'packages/workflows/dist/workflow-bundle.js',
    // Without dist/, a stale tsbuildinfo makes `tsc -b` skip the emit and the image ships no code.
    'packages/contracts/tsconfig.tsbuildinfo',
    'apps/gateway/coverage/lcov.info',
    '.data/temporal.sqlite',
    'packages/dev-stack/.data/lock-simulator.sqlite',
    '.git/HEAD',
    '.env',
    '.env.production',
    'api-keys.json',
    'tests/e2e/src/bulk-add-keys.test.ts',
  ])('keeps %s out: built, installed, secret or test-only on the host', (path) => {
    expect(inContext(path)).toBe(false);
  });

  it('sends every manifest, tsconfig and source file of every app and package', () => {
    const needed = WORKSPACE_DIRS.flatMap((dir) => [
      join(dir, 'package.json'),
      join(dir, 'tsconfig.json'),
      ...filesUnder(join(dir, 'src')),
    ]);
    expect(needed.length).toBeGreaterThan(WORKSPACE_DIRS.length * 3);
    expect(needed.filter((path) => !inContext(path))).toEqual([]);
  });

  it.each(['apps/gateway/Dockerfile', 'apps/worker/Dockerfile', 'apps/lock-simulator/Dockerfile'])(
    '%s copies only files that exist and are in the context',
    (dockerfile) => {
      const copies = instructionsOf(readFileSync(repoPath(dockerfile), 'utf8')).filter(
        (instruction) => instruction.keyword === 'COPY' && !instruction.argument.startsWith('--from'),
      );
      expect(copies.length).toBeGreaterThan(0);
      for (const copy of copies) {
        const words = copy.argument.split(/\s+/).filter((word) => !word.startsWith('--'));
        const sources = words.slice(0, -1);
        for (const source of sources.filter((path) => path !== '.')) {
          expect({ source, exists: existsSync(repoPath(source)), inContext: inContext(source) }).toEqual({
            source,
            exists: true,
            inContext: true,
          });
        }
      }
    },
  );

  it('is the context of every image compose builds, so this .dockerignore is the one that applies', () => {
    const compose = parseCompose(readFileSync(repoPath('docker-compose.yml'), 'utf8'));
    const contexts = Object.values(compose.services ?? {}).flatMap((service) =>
      service.build === undefined
        ? []
        : [typeof service.build === 'string' ? service.build : (service.build.context ?? '.')],
    );
    expect(contexts.length).toBe(3);
    expect(contexts.map((context) => resolve(REPO_ROOT, context))).toEqual(contexts.map(() => REPO_ROOT));
  });
});
