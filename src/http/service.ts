// The HTTP service: builds the app in start() (constructors only assign) and listens on host:port; stop() closes
// the app, which ends SSE streams and drops open connections.

import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { PxedError } from '../errors.js';
import type { Service } from '../service.js';
import { buildHttpApp } from './app.js';
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

  /** The bound port (useful with port 0); throws before start(). */
  get port(): number {
    if (!this.app) throw new PxedError('HTTP_NOT_STARTED', 'http service not started');
    return (this.app.server.address() as AddressInfo).port;
  }
}
