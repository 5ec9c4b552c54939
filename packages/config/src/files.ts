import { readFileSync } from 'node:fs';
import { ConfigError } from './errors';

/**
 * A configuration file named by variable `variable` (`API_KEYS_FILE=path`), read once and parsed by `parse`. Either
 * failure stops start-up with one line naming the variable and the path: `cannot be read (ENOENT)`, or the parser's
 * own message (which must never hold a secret).
 */
export function readConfigFile<T>(variable: string, path: string, parse: (content: string) => T): T {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    throw new ConfigError(`${variable} ${path}: cannot be read (${code})`);
  }
  try {
    return parse(content);
  } catch (err) {
    throw new ConfigError(`${variable} ${path}: ${(err as Error).message}`);
  }
}
