import { parse } from 'yaml';

/** The parts of a Compose service these checks read; everything else passes through untyped. */
export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  deploy?: { replicas?: number };
  restart?: string;
  secrets?: (string | { source: string; target?: string })[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  [key: string]: unknown;
}

/** A parsed compose file, before interpolation. */
export interface ComposeDocument {
  services?: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string; environment?: string } | null>;
  [key: string]: unknown;
}

/** Parses compose YAML (anchors and `<<` merges included); throws on syntax errors and duplicate keys. */
export function parseCompose(text: string): ComposeDocument {
  const document: unknown = parse(text, { merge: true, uniqueKeys: true });
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new Error('a compose file must be a YAML mapping');
  }
  return document as ComposeDocument;
}

/** One `$…` reference in a compose value, as the Compose Specification's interpolation defines it. */
interface Reference {
  text: string;
  name: string;
  /** `:-`, `-`, `:?`, `?`, `:+`, `+`, or '' for a bare `${NAME}` / `$NAME`. */
  operator: string;
  argument: string;
}

// `$$` (a literal dollar), `${NAME…}` or `$NAME`; nested `${A:-${B}}` is not used here and reads as invalid.
const REFERENCE = /\$(\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;
const BRACED = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?|:\+|\+)(.*))?$/s;

function references(value: string): (Reference | { text: string; invalid: true })[] {
  const found: (Reference | { text: string; invalid: true })[] = [];
  for (const match of value.matchAll(REFERENCE)) {
    const [text, inner, braced, bare] = match;
    if (inner === '$') continue;
    if (bare !== undefined) {
      found.push({ text, name: bare, operator: '', argument: '' });
      continue;
    }
    const parts = BRACED.exec(braced ?? '');
    if (parts === null) found.push({ text, invalid: true });
    else found.push({ text, name: parts[1] ?? '', operator: parts[2] ?? '', argument: parts[3] ?? '' });
  }
  return found;
}

function resolve(
  reference: Reference,
  env: Readonly<Record<string, string | undefined>>,
): { value: string; error?: string } {
  const value = env[reference.name];
  const isSet = value !== undefined;
  const isNonEmpty = isSet && value !== '';
  switch (reference.operator) {
    case ':-':
      return { value: isNonEmpty ? value : reference.argument };
    case '-':
      return { value: isSet ? value : reference.argument };
    case ':?':
      return isNonEmpty ? { value } : { value: '', error: `${reference.name}: ${reference.argument || 'required'}` };
    case '?':
      return isSet ? { value } : { value: '', error: `${reference.name}: ${reference.argument || 'required'}` };
    case ':+':
      return { value: isNonEmpty ? reference.argument : '' };
    case '+':
      return { value: isSet ? reference.argument : '' };
    default:
      return { value: value ?? '' };
  }
}

/**
 * Substitutes `${VAR}`-style references in every string value of `value` from `env`, the way
 * `docker compose` does before it validates. `errors` lists each required variable that was missing
 * (with its `${VAR:?message}` text) and each reference this implementation cannot read.
 */
export function interpolate<T>(
  value: T,
  env: Readonly<Record<string, string | undefined>>,
): { value: T; errors: string[] } {
  const errors: string[] = [];
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') {
      let result = '';
      let last = 0;
      for (const match of node.matchAll(REFERENCE)) {
        const index = match.index ?? 0;
        result += node.slice(last, index);
        last = index + match[0].length;
        if (match[1] === '$') {
          result += '$';
          continue;
        }
        const [reference] = references(match[0]);
        if (reference === undefined || 'invalid' in reference) {
          errors.push(`invalid interpolation format: ${match[0]}`);
          continue;
        }
        const resolved = resolve(reference, env);
        if (resolved.error !== undefined) errors.push(resolved.error);
        result += resolved.value;
      }
      return result + node.slice(last);
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, walk(child)]));
    }
    return node;
  };
  return { value: walk(value) as T, errors };
}

/**
 * Why a raw (not interpolated) environment value could reach the app empty, or undefined when it cannot:
 * a literal non-empty value, `${VAR:?message}`, or `${VAR:-default}` with a non-empty default is safe;
 * a missing value, `${VAR}`, `$VAR`, `${VAR-…}`, `${VAR:-}` or `${VAR?…}` (which lets `VAR=` through) is not.
 */
export function emptyValueRisk(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return 'has no value';
  const text = String(raw);
  if (text.trim() === '') return 'is empty';
  const found = references(text);
  const literal = text.replace(REFERENCE, (match) => (match === '$$' ? '$' : '')).trim();
  if (literal !== '') return undefined;
  const risky = found.find(
    (reference) =>
      'invalid' in reference ||
      !(reference.operator === ':?' || (reference.operator === ':-' && reference.argument.trim() !== '')),
  );
  if (risky === undefined) return undefined;
  return `is empty whenever the host variable is unset or blank (${risky.text}); use \${NAME:?message}`;
}

/** A service's environment as a map, from either the mapping or the `KEY=value` list form. */
export function environmentOf(service: ComposeService): Record<string, string | undefined> {
  const environment = service.environment;
  if (environment === undefined) return {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      environment.map((entry) => {
        const separator = entry.indexOf('=');
        return separator === -1 ? [entry, undefined] : [entry.slice(0, separator), entry.slice(separator + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [key, value === null ? undefined : String(value)]),
  );
}

/** The services a service waits for, with the condition it waits on (`service_started` when none is given). */
export function dependenciesOf(service: ComposeService): Record<string, string> {
  const dependsOn = service.depends_on;
  if (dependsOn === undefined) return {};
  if (Array.isArray(dependsOn)) return Object.fromEntries(dependsOn.map((name) => [name, 'service_started']));
  return Object.fromEntries(
    Object.entries(dependsOn).map(([name, options]) => [name, options?.condition ?? 'service_started']),
  );
}
