// A TCP proxy a test can switch off and on, to make a real database unreachable and then bring
// it back on the same address without touching the database itself; or, in front of the gateway,
// to refuse WebSocket upgrades while plain HTTP still works (a student's network that lets pages load).

import { createServer, connect, type Server, type Socket } from 'node:net';

const HEADER_END = Buffer.from('\r\n\r\n');
const UPGRADE = /^upgrade:\s*websocket\s*$/im;

export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** Client sockets that carry a WebSocket (their request asked for an upgrade). */
  private readonly upgraded = new Set<Socket>();
  private refusingUpgrades = false;
  /** Upgrade requests answered 503 while refusing. */
  refusedUpgrades = 0;

  constructor(
    readonly port: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
    /** `http`: the first request's headers are read, so WebSocket upgrades can be refused (refuseUpgrades). */
    private readonly mode: 'tcp' | 'http' = 'tcp',
  ) {}

  /** Starts forwarding on `port`. */
  async up(): Promise<void> {
    const server = createServer((client) => {
      this.sockets.add(client);
      client.once('close', () => {
        this.sockets.delete(client);
        this.upgraded.delete(client);
      });
      client.on('error', () => client.destroy());
      // Reads up to the end of the first request's headers to tell a WebSocket upgrade from plain HTTP.
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf(HEADER_END);
        if (end < 0 && head.length < 16_384) return;
        client.off('data', onData);
        client.pause();
        const isUpgrade = UPGRADE.test(head.subarray(0, Math.max(0, end)).toString('latin1'));
        if (isUpgrade && this.refusingUpgrades) {
          this.refusedUpgrades += 1;
          client.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          return;
        }
        forward(head, isUpgrade);
      };
      const forward = (head: Buffer, isUpgrade: boolean) => {
        if (isUpgrade) this.upgraded.add(client);
        const upstream = connect(this.targetPort, this.targetHost);
        this.sockets.add(upstream);
        upstream.once('close', () => {
          this.sockets.delete(upstream);
          client.destroy();
        });
        upstream.on('error', () => upstream.destroy());
        client.once('close', () => upstream.destroy());
        if (head.length > 0) upstream.write(head);
        client.pipe(upstream).pipe(client);
        client.resume();
      };
      if (this.mode === 'http') client.on('data', onData);
      else forward(Buffer.alloc(0), false);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /**
   * From now on WebSocket upgrades get 503 while plain HTTP passes; open WebSockets are cut as a
   * dropped network would (no close frame). `false` lets upgrades through again.
   */
  refuseUpgrades(refuse: boolean): void {
    this.refusingUpgrades = refuse;
    if (!refuse) return;
    for (const socket of this.upgraded) socket.destroy();
    this.upgraded.clear();
  }

  /** Stops listening and cuts every open connection: the target looks down. */
  async down(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
