import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

/** One HTTP request, as hostile as needed. */
export interface Outgoing {
  method: string;
  /** Path and query, e.g. `/locks/123/BulkAddKeys?x=1`. */
  path: string;
  /** Sent exactly; an array repeats the header. */
  headers: OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Send the body in chunks without Content-Length (Transfer-Encoding: chunked). */
  chunked?: boolean;
  /** Send only these bytes of the declared body and keep the request open: the answer must come anyway. */
  holdOpen?: boolean;
  /** Give up (reject) when no full answer came within this many ms. */
  timeoutMs?: number;
}

/** What one request got back. */
export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  body: unknown;
}

/** Where a request goes: a port on 127.0.0.1, or a base URL such as `http://127.0.0.1:3000`. */
export type HttpTarget = number | string;

function hostAndPort(target: HttpTarget): { host: string; port: number } {
  if (typeof target === 'number') return { host: '127.0.0.1', port: target };
  const url = new URL(target);
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 80) };
}

/**
 * Sends `outgoing` with node:http on a connection of its own: nothing is added (no content type, no keep-alive)
 * and duplicate headers go out as given, so hostile suites send exactly what they mean.
 */
export function send(target: HttpTarget, outgoing: Outgoing): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { ...hostAndPort(target), method: outgoing.method, path: outgoing.path, headers: outgoing.headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, body: parseJson(text) });
          if (outgoing.holdOpen === true) request.destroy();
        });
      },
    );
    // A held-open request is cut by us after the answer; the resulting socket error is expected.
    request.on('error', (err) => (outgoing.holdOpen === true ? undefined : reject(err)));
    if (outgoing.timeoutMs !== undefined) {
      const { timeoutMs } = outgoing;
      request.setTimeout(timeoutMs, () =>
        request.destroy(new Error(`${outgoing.method} ${outgoing.path}: no answer within ${timeoutMs} ms`)),
      );
    }
    const body = outgoing.body;
    if (body === undefined) {
      request.end();
    } else if (outgoing.chunked === true) {
      const bytes = Buffer.from(body);
      for (let at = 0; at < bytes.length; at += 64 * 1024) request.write(bytes.subarray(at, at + 64 * 1024));
      request.end();
    } else if (outgoing.holdOpen === true) {
      request.write(body);
    } else {
      request.end(body);
    }
  });
}

/** Writes raw bytes on a TCP connection and parses the HTTP/1.1 answer (the server closes the connection). */
export function sendRaw(target: HttpTarget, bytes: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const { host, port } = hostAndPort(target);
    const socket = connect(port, host);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = raw.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers: IncomingHttpHeaders = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const text = rest.join('\r\n\r\n');
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text, body: parseJson(text) });
    });
    socket.end(bytes);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
