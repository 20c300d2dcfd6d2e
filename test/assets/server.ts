// An HTTP server on 127.0.0.1 for the asset tests: serves in-memory files with single-range Range support, and can
// misbehave on purpose (cut the connection after N bytes, lie about lengths, ignore Range, redirect in a loop).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour =
  | { kind: 'file'; body: Buffer }
  /** Sends `after` bytes of the body (with the full Content-Length), then destroys the socket; `times` requests. */
  | { kind: 'interrupt'; body: Buffer; after: number; times: number }
  /** Announces `announce` bytes in Content-Length, sends the body, closes. */
  | { kind: 'lie'; body: Buffer; announce: number }
  /** No Content-Length (chunked), the body as given. */
  | { kind: 'chunked'; body: Buffer }
  /** 200 with the whole body whatever the Range. */
  | { kind: 'no-range'; body: Buffer }
  /** 206 with a Content-Range that starts elsewhere. */
  | { kind: 'bad-range'; body: Buffer }
  | { kind: 'redirect'; to: string }
  /** Sends headers and then nothing. */
  | { kind: 'stall' };

export interface TestServer {
  url: (p: string) => string;
  routes: Map<string, Behaviour>;
  requests: Array<{ path: string; range: string | undefined }>;
  close: () => Promise<void>;
}

export async function startServer(routes: Record<string, Behaviour> = {}): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const requests: TestServer['requests'] = [];
  const server = http.createServer((req, res) => {
    const p = req.url ?? '/';
    const range = req.headers.range;
    requests.push({ path: p, range });
    const b = table.get(p);
    if (b === undefined) {
      res.writeHead(404, { 'content-length': 0 }).end();
      return;
    }
    switch (b.kind) {
      case 'redirect':
        res.writeHead(302, { location: b.to, 'content-length': 0 }).end();
        return;
      case 'stall':
        res.writeHead(200, { 'content-length': 100 });
        res.flushHeaders();
        return;
      case 'lie':
        res.writeHead(200, { 'content-length': b.announce });
        res.write(b.body);
        res.socket?.end();
        return;
      case 'chunked':
        res.writeHead(200);
        res.end(b.body);
        return;
      case 'no-range':
        res.writeHead(200, { 'content-length': b.body.length }).end(b.body);
        return;
      case 'bad-range': {
        const start = 1;
        res.writeHead(206, { 'content-length': b.body.length - start, 'content-range': `bytes ${start}-${b.body.length - 1}/${b.body.length}` });
        res.end(b.body.subarray(start));
        return;
      }
      case 'interrupt':
        if (b.times > 0) {
          b.times--;
          const m = range !== undefined ? /^bytes=(\d+)-$/.exec(range) : null;
          const start = m ? Number(m[1]) : 0;
          const headers: http.OutgoingHttpHeaders = { 'content-length': b.body.length - start };
          if (start > 0) headers['content-range'] = `bytes ${start}-${b.body.length - 1}/${b.body.length}`;
          res.writeHead(start > 0 ? 206 : 200, headers);
          res.write(b.body.subarray(start, start + b.after), () => res.destroy());
          return;
        }
        serveFile(b.body, range, res);
        return;
      case 'file':
        serveFile(b.body, range, res);
        return;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    routes: table,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function serveFile(body: Buffer, range: string | undefined, res: http.ServerResponse): void {
  const m = range !== undefined ? /^bytes=(\d+)-$/.exec(range) : null;
  if (m) {
    const start = Number(m[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}`, 'content-length': 0 }).end();
      return;
    }
    res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    res.end(body.subarray(start));
    return;
  }
  res.writeHead(200, { 'content-length': body.length }).end(body);
}
