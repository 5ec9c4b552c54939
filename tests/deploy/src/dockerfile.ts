import { unpinnedReason } from './image-ref';

/** One instruction of a Dockerfile, continuation lines joined. */
export interface Instruction {
  keyword: string;
  argument: string;
  line: number;
}

/** One build stage: from its `FROM` to the next. */
export interface Stage {
  /** The `FROM` argument with global `ARG` defaults substituted. */
  base: string;
  name?: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into instructions: comments and blank lines dropped, `\` continuations joined. */
export function instructionsOf(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return;
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const [keyword = '', ...rest] = full.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), argument: rest.join(' '), line: startLine });
  });
  return instructions;
}

const substitute = (text: string, args: Readonly<Record<string, string>>) =>
  text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced?: string, bare?: string) => {
      const value = args[braced ?? bare ?? ''];
      return value ?? match;
    },
  );

/** The build stages of a Dockerfile, with `FROM ${ARG}` resolved from the `ARG` defaults declared before the first `FROM`. */
export function stagesOf(text: string): Stage[] {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructionsOf(text)) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.argument.split(/\s+/).filter((word) => !word.startsWith('--'));
      const [image = '', as, name] = words;
      stages.push({
        base: substitute(image, globalArgs),
        ...(as?.toUpperCase() === 'AS' && name !== undefined && { name }),
        instructions: [],
      });
      continue;
    }
    const current = stages[stages.length - 1];
    if (current === undefined) {
      if (instruction.keyword === 'ARG') {
        const [name = '', ...value] = instruction.argument.split('=');
        if (value.length > 0)
          globalArgs[name.trim()] = value
            .join('=')
            .trim()
            .replace(/^["']|["']$/g, '');
      }
      continue;
    }
    current.instructions.push(instruction);
  }
  return stages;
}

const isRoot = (user: string) => /^(root|0)(:.*)?$/.test(user.trim());

/** The user a stage's process runs as: its last `USER`, else its parent stage's, else the base image's (root for ours). */
export function effectiveUser(stages: readonly Stage[], index: number): string | undefined {
  const stage = stages[index];
  if (stage === undefined) return undefined;
  const users = stage.instructions.filter((instruction) => instruction.keyword === 'USER');
  const last = users[users.length - 1];
  if (last !== undefined) return last.argument;
  const parent = stages.findIndex((candidate, at) => at < index && candidate.name === stage.base);
  return parent === -1 ? undefined : effectiveUser(stages, parent);
}

/**
 * What is wrong with a Dockerfile for this project, or an empty list: fewer than two stages (build tools
 * would ship), a final stage that runs as root, or a base image that is not pinned to a release.
 */
export function dockerfileProblems(text: string): string[] {
  const problems: string[] = [];
  const stages = stagesOf(text);
  if (stages.length < 2) problems.push(`has ${stages.length} stage(s); a build stage and a runtime stage are needed`);
  const stageNames = new Set(stages.flatMap((stage) => (stage.name === undefined ? [] : [stage.name])));
  for (const stage of stages) {
    if (stageNames.has(stage.base)) continue;
    const reason = unpinnedReason(stage.base);
    if (reason !== undefined) problems.push(`base image ${reason}`);
  }
  if (stages.length > 0) {
    const user = effectiveUser(stages, stages.length - 1);
    if (user === undefined) problems.push('final stage sets no USER, so it runs as root');
    else if (isRoot(user)) problems.push(`final stage runs as ${user}`);
  }
  return problems;
}
