import { randomUUID } from 'node:crypto';
import { createServer, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Express } from 'express';
import type { Logger } from 'pino';

/** Bounds that keep slow or stuck clients from holding sockets; Node's defaults (5 min) suit file uploads, not this API. */
export const SERVER_TIMEOUTS = Object.freeze({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 });

/**
 * The gateway's HTTP server: `app` plus tight timeouts, and SPEC's JSON error body (with a request id) for
 * what Node rejects before express sees a request — headers over 16 KiB (431), an unparsable request (400),
 * a request too slow to arrive (408). Does not listen.
 */
export function createGatewayServer(app: Express, logger: Logger): Server {
  const server = createServer(app);
  server.headersTimeout = SERVER_TIMEOUTS.headersTimeoutMs;
  server.requestTimeout = SERVER_TIMEOUTS.requestTimeoutMs;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Nothing to answer on a connection the client already dropped.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const requestId = randomUUID();
    logger.info({ reqId: requestId, status, reason: err.code ?? err.message }, 'request rejected by the HTTP parser');
    const body = JSON.stringify({
      error: STATUS_CODES[status],
      message: CLIENT_ERROR_MESSAGES[status],
      code: status,
    });
    socket.end(
      [
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
        'Content-Type: application/json; charset=utf-8',
        `Content-Length: ${Buffer.byteLength(body)}`,
        `X-Request-Id: ${requestId}`,
        'Cache-Control: no-store',
        'X-Content-Type-Options: nosniff',
        'Connection: close',
        '',
        body,
      ].join('\r\n'),
    );
  });
  return server;
}

const CLIENT_ERROR_MESSAGES: Record<number, string> = {
  400: 'The request could not be parsed',
  408: 'The request took too long to arrive',
  431: 'Request headers are too large',
};
