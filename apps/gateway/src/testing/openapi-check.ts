import { execFile } from 'node:child_process';
import { join } from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { RawAnswer } from '@lockkeys/testing';

/** The parts of an OpenAPI 3.1 document the checks read. */
export interface OpenApiSpec {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, object>; headers?: Record<string, OpenApiHeader> };
}
/** One operation of {@link OpenApiSpec}. */
export interface OpenApiOperation {
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: object }>;
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, OpenApiResponse>;
}
/** One response of {@link OpenApiOperation}. */
export interface OpenApiResponse {
  description: string;
  headers?: Record<string, OpenApiHeader | { $ref: string }>;
  content?: Record<string, { schema: object }>;
}
interface OpenApiHeader {
  required?: boolean;
  schema: object;
}

const GATEWAY_DIR = join(__dirname, '..', '..');

// The validator is ESM only; a plain Node process loads it without Jest's CommonJS module system.
const VALIDATE_SCRIPT = `
const { Validator } = await import('@seriousme/openapi-schema-validator');
let text = '';
for await (const chunk of process.stdin) text += chunk;
const validator = new Validator();
const result = await validator.validate(JSON.parse(text));
process.stdout.write(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? [] }));
`;

/** Validates `document` with `@seriousme/openapi-schema-validator` (the OpenAPI 2.0–3.2 JSON Schemas). */
export function validateOpenApi(document: unknown): Promise<{ valid: boolean; version: string; errors: unknown[] }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--input-type=module', '-e', VALIDATE_SCRIPT],
      { cwd: GATEWAY_DIR, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`validator failed: ${stderr || err.message}`));
        else resolve(JSON.parse(stdout) as { valid: boolean; version: string; errors: unknown[] });
      },
    );
    child.stdin?.end(JSON.stringify(document));
  });
}

/** The schema, with the document's component schemas under `$defs` so ajv resolves its references. */
function standalone(spec: OpenApiSpec, schema: object): object {
  const rewrite = (value: object) =>
    JSON.parse(JSON.stringify(value).replaceAll('"#/components/schemas/', '"#/$defs/'));
  return { $defs: rewrite(spec.components.schemas), ...rewrite(schema) };
}

/** Compiles the document's schemas with ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1), strictly. */
export function schemaCompiler(spec: OpenApiSpec): (schema: object) => ValidateFunction {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  // OpenAPI's own annotation keyword.
  ajv.addKeyword('example');
  const cache = new Map<object, ValidateFunction>();
  return (schema) => {
    let validate = cache.get(schema);
    if (validate === undefined) {
      validate = ajv.compile(standalone(spec, schema));
      cache.set(schema, validate);
    }
    return validate;
  };
}

/** A concrete path (`/locks/123/BulkAddKeys`) against a template (`/locks/{lockId}/BulkAddKeys`). */
function templateMatches(template: string, path: string): boolean {
  const pattern = template
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${pattern}$`).test(path);
}

/** The documented operation serving `method path` (the query string ignored), or `undefined`. */
export function findOperation(spec: OpenApiSpec, method: string, path: string): OpenApiOperation | undefined {
  const bare = path.split('?', 1)[0] ?? path;
  // A literal template wins over one with parameters, as in express (`/docs` before `/docs/{asset}`).
  const templates = Object.keys(spec.paths).filter((template) => templateMatches(template, bare));
  templates.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
  for (const template of templates) {
    const operation = spec.paths[template]?.[method.toLowerCase()];
    if (operation !== undefined) return operation;
  }
  return undefined;
}

/**
 * What is wrong with `answer` as an answer of `operation` per the document: an undocumented status, a media type
 * not listed, a JSON body its schema refuses, a required header missing. Empty when the answer is as documented.
 */
export function answerProblems(
  spec: OpenApiSpec,
  compile: (schema: object) => ValidateFunction,
  operation: OpenApiOperation,
  answer: RawAnswer,
): string[] {
  const response = operation.responses[String(answer.status)];
  if (response === undefined) return [`status ${answer.status} is not documented`];
  const problems: string[] = [];
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const resolved = '$ref' in header ? spec.components.headers?.[header.$ref.split('/').pop() ?? ''] : header;
    if (resolved?.required === true && answer.headers[name.toLowerCase()] === undefined) {
      problems.push(`required header ${name} is missing`);
    }
  }
  const mediaType =
    String(answer.headers['content-type'] ?? '')
      .split(';', 1)[0]
      ?.trim() ?? '';
  const content = response.content?.[mediaType];
  if (response.content !== undefined && content === undefined) {
    problems.push(`media type ${mediaType} is not documented (${Object.keys(response.content).join(', ')})`);
  } else if (content !== undefined && mediaType === 'application/json') {
    const validate = compile(content.schema);
    if (!validate(answer.body)) problems.push(`body refused by its schema: ${JSON.stringify(validate.errors)}`);
  }
  return problems;
}
