import { isAbsolute, posix, relative, resolve } from 'node:path';
import type { ComposeService } from './compose-file';
import { REPO_ROOT } from './repo';

/** The repository folder the Temporal containers mount: the same one `npm run dev -- --engine=postgres` reads. */
export const TEMPORAL_DIR = resolve(REPO_ROOT, 'temporal');

/** The container folder where `service` mounts this repository's temporal/ (read-only), or undefined. */
export function temporalMount(service: ComposeService): string | undefined {
  for (const volume of service.volumes ?? []) {
    const [source, target, mode] = typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target];
    if (source && target && resolve(REPO_ROOT, source) === TEMPORAL_DIR && (mode ?? '').split(',').includes('ro')) {
      return target;
    }
  }
  return undefined;
}

/** The host file behind a container path under the temporal/ mount, or undefined when it is not under it. */
export function hostPathOf(service: ComposeService, containerPath: string): string | undefined {
  const mount = temporalMount(service);
  if (mount === undefined) return undefined;
  const inside = posix.relative(mount, posix.resolve(mount, containerPath));
  if (inside.startsWith('..') || isAbsolute(inside)) return undefined;
  return resolve(TEMPORAL_DIR, inside);
}

/** A path of this repository as a readable `temporal/…`. */
export const repoRelative = (path: string) => relative(REPO_ROOT, path);

/** What a temporalio/server container runs, read from its entrypoint and command. */
export interface ServerInvocation {
  /** `--root`, `--config`, `--env` as the container sees them. */
  root: string;
  config: string;
  env: string;
  /** The one service it starts. */
  service: string;
  /** Everything after `temporal-server`, `$0` replaced by the command. */
  args: string[];
}

/**
 * Reads `/bin/sh -c '… exec temporal-server <flags> start --service "$0"' <service>` (compose's `$$` already `$`
 * after interpolation), or a plain `temporal-server …` entrypoint.
 */
export function serverInvocation(service: ComposeService): ServerInvocation | undefined {
  const entrypoint = Array.isArray(service.entrypoint) ? service.entrypoint.map(String) : [];
  const command = Array.isArray(service.command) ? service.command.map(String) : [];
  let words: string[];
  if (entrypoint[0] === '/bin/sh' && entrypoint[1] === '-c') {
    const script = (entrypoint[2] ?? '').replace(/\$\$/g, '$');
    words = script
      .split(/\s+/)
      .map((word) => (/^"?\$0"?$/.test(word) ? (command[0] ?? '') : word.replace(/^"|"$/g, '')));
  } else {
    words = [...entrypoint, ...command];
  }
  const at = words.indexOf('temporal-server');
  if (at === -1) return undefined;
  const args = words.slice(at + 1).filter(Boolean);
  const flag = (name: string) => {
    const index = args.indexOf(name);
    return index === -1 ? undefined : args[index + 1];
  };
  const root = flag('--root');
  const config = flag('--config');
  const env = flag('--env');
  const started = flag('--service');
  if (!root || !config || !env || !started) return undefined;
  return { root, config, env, service: started, args };
}

/** The release in an image reference's tag (`temporalio/admin-tools:1.29.1-tctl-…` → `1.29.1`). */
export const releaseOf = (image: string | undefined) => /:v?(\d+\.\d+\.\d+)/.exec(image ?? '')?.[1];
