// The HTTP side of a connection actor: listens on its share of the gateway port (http or https),
// serves the student pages, refuses upgrades past the connection caps with 503, and hands sockets on.

import { unwatchFile, watchFile } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { AddressTable } from './address-table.js';
import { ConnectionCount } from './connection-count.js';
import { UnwelcomedSockets, type UnwelcomedMemory } from './unwelcomed-sockets.js';
import { GATEWAY_LISTEN_BACKLOG, type ConnectionLimits, type ListenSpec } from './protocol.js';
import { StudentPages } from './student-pages.js';
import { readTlsFiles, TLS_RELOAD_INTERVAL_MS } from '../../src/config/gateway-tls.js';

export interface GatewayListenerHooks {
  /**
   * A socket upgraded: its 101 is written. `acceptedAt` (performance.now() ms) is when its connection
   * was accepted, `upgradedAt` just before the 101 was written.
   */
  accepted(ws: WebSocket, remoteAddress: string, acceptedAt: number, upgradedAt: number): void;
  /** The certificate files changed: reloaded (error null) or kept as they were (error says why). */
  tlsReloaded?(error: Error | null): void;
}

/** How long an upgrade waits for a shared table's lock before it is refused, and how often it tries. */
const BUSY_RETRY_FOR_MS = 2_000;
const BUSY_RETRY_INTERVAL_MS = 5;

/** A socket's places were all taken, the table was busy, or a cap (named) is full. */
type PlaceOutcome = 'taken' | 'busy' | { full: string };

export class GatewayListener {
  private readonly server: Server | TlsServer;
  private readonly pages = new StudentPages();
  private readonly wss: WebSocketServer;
  private readonly processCount: ConnectionCount;
  private readonly addresses: AddressTable;
  private readonly unwelcomed: UnwelcomedSockets;
  /**
   * When each socket was accepted (with TLS: its handshake done) or, on a kept-alive socket, last
   * answered a page, performance.now() ms: the upgrade's latency starts there.
   */
  private readonly acceptedAt = new WeakMap<object, number>();
  private accepting = true;
  private unwatch: () => void = () => undefined;
  rejectedUpgrades = 0;

  constructor(
    private readonly limits: ConnectionLimits,
    connectionCount: SharedArrayBuffer,
    addressTable: SharedArrayBuffer,
    unwelcomed: UnwelcomedMemory,
    actorIndex: number,
    private readonly hooks: GatewayListenerHooks,
  ) {
    this.processCount = new ConnectionCount(connectionCount, actorIndex);
    this.addresses = new AddressTable(addressTable, actorIndex);
    this.unwelcomed = new UnwelcomedSockets(unwelcomed, actorIndex, limits);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: limits.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
      skipUTF8Validation: false,
    });
    // Slow-loris: a client that opens TCP and dribbles (or never sends) its upgrade request is cut
    // off once the hello timeout passes; Node's defaults (60 s, checked every 30 s) let thousands
    // of such sockets sit on the gateway's file descriptors. Upgraded sockets leave the HTTP server,
    // so the deadline never touches a student's session.
    const handshakeDeadlineMs = limits.helloTimeoutMs;
    const httpOptions = {
      headersTimeout: handshakeDeadlineMs,
      requestTimeout: handshakeDeadlineMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(handshakeDeadlineMs / 4))),
    };
    const onRequest = (request: IncomingMessage, response: ServerResponse) => {
      // A kept-alive socket that upgrades after a page waited on the student, not on the gateway: its
      // upgrade is timed from the page's answer. The clock is read before the answer is written (pages
      // come from memory, at once), so the start never follows the student's reading of it; read in
      // 'finish', a thread descheduled after the write started it late (wire-metrics read 293.0 ms
      // for a 300 ms wait in a full local run of the suite).
      const answeredAt = performance.now();
      this.pages.handle(request, response);
      this.acceptedAt.set(request.socket, answeredAt);
    };
    const tls = limits.tls;
    if (tls === null) {
      this.server = createServer(httpOptions, onRequest);
    } else {
      // wss:// and https:// on the same port: pages on an https LMS may not open ws://.
      const server = createTlsServer({ ...httpOptions, ...readTlsFiles(tls) }, onRequest);
      this.server = server;
      // A renewed certificate (certbot, an ACME client) takes effect for new connections; open sockets stay as they are.
      const reload = () => {
        try {
          server.setSecureContext(readTlsFiles(tls));
          this.hooks.tlsReloaded?.(null);
        } catch (error) {
          this.hooks.tlsReloaded?.(error as Error);
        }
      };
      for (const file of [tls.certFile, tls.keyFile]) watchFile(file, { interval: TLS_RELOAD_INTERVAL_MS, persistent: false }, reload);
      this.unwatch = () => [tls.certFile, tls.keyFile].forEach((file) => unwatchFile(file, reload));
    }
    // The request's socket is the one the server emitted: the TCP socket, or with TLS the TLS socket
    // (its raw socket is not reachable from the request), so TLS handshakes are not in the upgrade latency.
    this.server.on(tls === null ? 'connection' : 'secureConnection', (socket: Duplex) => this.acceptedAt.set(socket, performance.now()));
    this.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(request, socket, head));
    this.server.on('clientError', (_error, socket) => socket.destroy());
  }

  /** Student page files that were not found (an unbuilt checkout). */
  get missingPages(): readonly string[] {
    return this.pages.missing;
  }

  listen(spec: ListenSpec): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const done = () => {
        this.server.off('error', reject);
        resolve();
      };
      // Node 20 ignores options.backlog with a descriptor (it reads only a backlog argument).
      if (spec.kind === 'fd') this.server.listen({ fd: spec.fd }, GATEWAY_LISTEN_BACKLOG, done);
      else this.server.listen({ host: spec.host, port: spec.port, reusePort: true, backlog: GATEWAY_LISTEN_BACKLOG } as Parameters<Server['listen']>[0], done);
    });
  }

  /**
   * Stops accepting: closes this actor's listening handle (its own duplicate of the port) at once.
   * Not awaited: close()'s callback waits for every open socket to end, and during a drain the
   * sockets are closed only after their last acks went out.
   */
  stopAccepting(): void {
    this.accepting = false;
    this.unwatch();
    this.server.close();
  }

  /** Gives back the place a socket held while it was not welcomed (at its welcome, or its close before). */
  releaseUnwelcomed(remoteAddress: string): void {
    this.unwelcomed.release(remoteAddress);
  }

  /** Gives back the counts a closed socket held. */
  release(remoteAddress: string): void {
    this.processCount.release();
    if (this.limits.maxConnectionsPerAddress > 0) this.addresses.release(remoteAddress);
  }

  private onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/ws') return refuse(socket, 404, 'Not Found');
    this.admit(request, socket, head, Date.now() + BUSY_RETRY_FOR_MS);
  }

  /**
   * Takes the socket's places under every cap, then upgrades it. A table lock held by another
   * actor (preempted on a loaded machine) is not a full gateway: the upgrade waits and tries again
   * rather than turn a student away with 503.
   */
  private admit(request: IncomingMessage, socket: Duplex, head: Buffer, busyUntil: number): void {
    if (socket.destroyed) return;
    if (!this.accepting) return refuse(socket, 503, 'Service Unavailable', 'the gateway is stopping');
    const address = request.socket.remoteAddress ?? 'unknown';
    const taken = this.takePlaces(address);
    if (taken === 'busy' && Date.now() < busyUntil) {
      // The HTTP server let go of the socket at the upgrade: a reset while it waits must not be an
      // uncaught error that takes the actor down.
      if (socket.listenerCount('error') === 0) socket.on('error', () => socket.destroy());
      setTimeout(() => this.admit(request, socket, head, busyUntil), BUSY_RETRY_INTERVAL_MS);
      return;
    }
    if (taken !== 'taken') {
      this.rejectedUpgrades += 1;
      return refuse(socket, 503, 'Service Unavailable', taken === 'busy' ? 'the gateway is overloaded: try again' : taken.full);
    }
    // ws answers a malformed handshake itself and never calls back: give the counts back then.
    let upgraded = false;
    socket.once('close', () => {
      if (upgraded) return;
      this.release(address);
      this.unwelcomed.release(address);
    });
    // Read before ws writes the 101, not in its callback after: a thread descheduled between the two
    // would start the wait for the hello after the student had begun it (wire-metrics caught 1.2 ms).
    const upgradedAt = performance.now();
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      upgraded = true;
      this.hooks.accepted(ws, address, this.acceptedAt.get(socket) ?? upgradedAt, upgradedAt);
    });
  }

  /** Takes one place under each cap, or none: 'busy' (try again) or why the gateway is full. */
  private takePlaces(address: string): PlaceOutcome {
    // Both caps hold for the whole process: the counts live in memory every connection actor shares.
    const capPerAddress = this.limits.maxConnectionsPerAddress;
    if (capPerAddress > 0) {
      const outcome = this.addresses.tryTake(address, capPerAddress);
      if (outcome !== 'taken') return outcome === 'busy' ? 'busy' : { full: 'too many connections from this address (gateway.maxConnectionsPerAddress)' };
    }
    if (!this.processCount.tryTake(this.limits.maxConnections)) {
      if (capPerAddress > 0) this.addresses.release(address);
      return { full: 'too many connections (gateway.maxConnections)' };
    }
    const unwelcomed = this.unwelcomed.tryTake(address);
    if (unwelcomed !== 'taken') {
      this.release(address);
      return unwelcomed === 'busy' ? 'busy' : { full: 'too many sockets waiting for their welcome (gateway.maxUnwelcomed, gateway.maxUnwelcomedPerAddress)' };
    }
    return 'taken';
  }
}

/** Answers the upgrade request plainly; the body says why, for whoever reads it with curl. */
function refuse(socket: Duplex, status: number, text: string, why = ''): void {
  const body = why === '' ? '' : `${why}\n`;
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
