// The HTTP service: builds the app in start() (constructors only assign) and listens on host:port; stop() closes
// the app, which ends SSE streams and drops open connections; drain() first lets running downloads finish.

import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { PxedError } from '../errors.js';
import type { Service } from '../service.js';
import { buildHttpApp, endStreams } from './app.js';
import type { HttpDeps, HttpServiceOptions } from './types.js';

export class HttpService implements Service {
  readonly name = 'http';
  private app: FastifyInstance | null = null;

  constructor(
    private readonly options: HttpServiceOptions,
    private readonly deps: HttpDeps,
  ) {}

  async start(): Promise<void> {
    if (this.app) return;
    const app = buildHttpApp(this.deps);
    try {
      await app.listen({ host: this.options.host, port: this.options.port });
    } catch (err) {
      await app.close().catch(() => undefined);
      throw new PxedError('HTTP_LISTEN', `cannot listen on ${this.options.host}:${this.options.port}: ${(err as Error).message}`, undefined, { cause: err });
    }
    this.app = app;
    this.deps.logger.info('http listening', { host: this.options.host, port: this.port });
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = null;
    if (app) await app.close();
  }

  /**
   * Graceful stop, first half (Service.drain): stops accepting connections, ends the admin page's event streams and
   * resolves once every connection is gone (downloads finished; idle keep-alive connections are closed as they go
   * idle), or at `deadline` (epoch ms); stop() then closes whatever is left.
   */
  async drain(deadline: number): Promise<void> {
    const app = this.app;
    if (!app) return;
    const server = app.server;
    server.close();
    endStreams(app);
    while (Date.now() < deadline) {
      server.closeIdleConnections();
      const open = await new Promise<number>((resolve) => server.getConnections((err, n) => resolve(err ? 0 : n)));
      if (open === 0) return;
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(50, deadline - Date.now()))));
    }
  }

  /** The bound port (useful with port 0); throws before start(). */
  get port(): number {
    if (!this.app) throw new PxedError('HTTP_NOT_STARTED', 'http service not started');
    return (this.app.server.address() as AddressInfo).port;
  }
}
