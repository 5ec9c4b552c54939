/**
 * Start-up configuration is wrong. {@link ConfigError.problems} holds one line per bad variable, each
 * starting with the variable's name (never a secret's value); `message` is those lines joined by newlines.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** One line per problem, each naming its variable. */
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const lines = typeof problems === 'string' ? [problems] : [...problems];
    super(lines.join('\n'));
    this.problems = lines;
  }
}

/**
 * Runs every step and returns their results in order; when some throw {@link ConfigError}, throws one
 * ConfigError with all their problems, so an operator sees every bad variable at once. Other errors pass.
 */
export function collectConfigErrors<T extends readonly unknown[]>(...steps: { [K in keyof T]: () => T[K] }): T {
  const problems: string[] = [];
  const results = steps.map((step) => {
    try {
      return step();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return results as unknown as T;
}
