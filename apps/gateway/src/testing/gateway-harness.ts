import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../app';
import type { GatewayConfig } from '../config';
import type { RunService } from '../runs';
import { createGatewayServer } from '../server';
import { FakeRunService } from './fake-run-service';

/** A gateway listening on 127.0.0.1 (port 0) with a fake (or recorded real) RunService and captured log lines. */
export interface TestGateway<Runs extends RunService = FakeRunService> {
  port: number;
  runs: Runs;
  logs: string[];
  close(): Promise<void>;
}

/** Starts the real app and server (same as main.ts) on an ephemeral port, with a fresh FakeRunService or `runs`. */
export async function startGateway(config: GatewayConfig): Promise<TestGateway>;
export async function startGateway<Runs extends RunService>(
  config: GatewayConfig,
  runs: Runs,
): Promise<TestGateway<Runs>>;
export async function startGateway(
  config: GatewayConfig,
  runs: RunService = new FakeRunService(),
): Promise<TestGateway<RunService>> {
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const server: Server = createGatewayServer(createApp({ config, runs, logger }), logger);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    runs,
    logs,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** What one request got back. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  json: unknown;
}

/** One HTTP request, as hostile as needed. */
export interface Outgoing {
  method: string;
  path: string;
  /** Sent exactly; an array repeats the header. */
  headers: OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Send the body in chunks without Content-Length (Transfer-Encoding: chunked). */
  chunked?: boolean;
  /** Send only these bytes of the declared body and keep the request open: the answer must come anyway. */
  holdOpen?: boolean;
}

/** Sends `outgoing` with node:http (no fetch niceties: no added content type, duplicate headers allowed). */
export function send(port: number, outgoing: Outgoing): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: outgoing.method,
        path: outgoing.path,
        headers: outgoing.headers,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json: parseJson(text) });
          if (outgoing.holdOpen === true) request.destroy();
        });
      },
    );
    // A held-open request is cut by us after the answer; the resulting socket error is expected.
    request.on('error', (err) => (outgoing.holdOpen === true ? undefined : reject(err)));
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
export function sendRaw(port: number, bytes: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
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
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text, json: parseJson(text) });
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
