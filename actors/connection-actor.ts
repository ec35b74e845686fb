// Connection actor (worker thread): holds a group of student WebSockets on its share of the
// gateway port, puts their events into the rings and answers them from the ack rings.

import { hostActor } from '../src/actor-runtime/actor-host.js';
import { CloseCode } from '../src/protocol/close-codes.js';
import { BucketStore } from '../src/redis/bucket-store.js';
import { PresenceStore } from '../src/redis/presence-store.js';
import { logConnectionHealth } from '../src/redis/connection-log.js';
import { createRedisClient, disconnectRedisClient, waitForRedis } from '../src/redis/redis-client.js';
import { EventLoopDelayMonitor } from '../src/telemetry/event-loop-delay.js';
import { createLogger } from '../src/telemetry/logger.js';
import { AckDispatcher } from './connection/ack-dispatcher.js';
import { DirectWrites } from './connection/direct-writes.js';
import { EventForwarder } from './connection/event-forwarder.js';
import { readStudentAnswers } from '../src/redis/student-answers.js';
import { GatewayListener } from './connection/gateway-listener.js';
import { PresenceBeacon } from './connection/presence-beacon.js';
import type { ConnectionActorApi, ConnectionActorInit } from './connection/protocol.js';
import { SessionRegistry } from './connection/session-registry.js';
import { SessionWatch } from './connection/session-watch.js';
import { SlotTable } from './connection/slot-table.js';
import { StudentGateway } from './connection/student-gateway.js';
import type { StudentSession } from './connection/student-session.js';
import { CLOSE_HANDSHAKE_MS, PRESENCE_LEAVE_MS } from '../src/stop-timeouts.js';
import { WireTallies } from './connection/wire-tallies.js';

const FINISH_POLL_MS = 5;

hostActor<ConnectionActorInit, ConnectionActorApi>(async (init) => {
  const log = createLogger(init.actorId, init.logLevel);
  const redis = logConnectionHealth(createRedisClient(init.redis, init.actorId), init.actorId, log);
  await waitForRedis(redis, 15_000);
  const slots = new SlotTable<StudentSession>();
  const registry = new SessionRegistry();
  const forwarder = new EventForwarder(init.eventRings, init.writerDoorbells);
  const tallies = new WireTallies(init.wireTallies);
  let listener: GatewayListener | null = null;
  const store = new BucketStore(redis, init.buckets, { waitReplicas: init.waitReplicas });
  // Keys outlive a refresh by two ttls: long enough for any clock skew between boxes, short enough
  // that the sets of an exam nobody holds any more go away by themselves.
  const presence = new PresenceBeacon(registry, new PresenceStore(redis, init.presence.ttlMs * 2), init.presence, log, init.actorId, slots);
  const gateway = new StudentGateway({
    incarnation: init.incarnation,
    buckets: init.buckets,
    writers: init.eventRings.length,
    authSecret: init.authSecret,
    limits: init.limits,
    traceExams: new Set(init.traceExams),
    store,
    storedAnswers: (exam, bucket, student) => readStudentAnswers(redis, exam, bucket, student),
    forwarder,
    registry,
    slots,
    tallies,
    log,
    released: (session) => {
      presence.left(session);
      listener?.release(session.remoteAddress);
    },
    welcomed: (session) => listener?.releaseUnwelcomed(session.remoteAddress),
  });
  const acks = new AckDispatcher(init.ackRings, init.doorbell, init.incarnation, slots, {
    replaced: (session) => gateway.replace(session),
    unavailable: (session) => gateway.unavailable(session),
    afterDispatch: () => forwarder.retryBlocked(),
    ringAnswered: (count) => forwarder.answered(count),
  }, tallies);
  const direct = new DirectWrites({
    store,
    limit: init.directInFlight,
    storageGate: init.storageGate,
    ringsIdle: () => forwarder.ringsIdle,
    isCurrent: (session) => slots.get(session.slot, session.generation) === session,
    answered: (session, seqs, outcomes) => acks.answerDirect(session, seqs, outcomes),
    toRing: (session, envelopes) => {
      for (const envelope of envelopes) forwarder.toRing(session, envelope);
    },
    failed: (error, events) => log.warn({ err: error, events }, 'a direct write to Redis failed; its events go through a writer'),
  });
  if (direct.enabled) forwarder.direct = direct;
  const watch = new SessionWatch(init.redis, init.actorId, {
    sessionClaimed: (exam, student, epoch) => gateway.sessionClaimed(exam, student, epoch),
    examClosed: (exam) => gateway.examClosed(exam),
    resubscribed: () => {
      gateway.recheckSessions().catch((error: unknown) => log.warn({ err: error }, 'checking live sessions after a reconnect failed; they are checked at their next write'));
    },
  }, log);
  await watch.start();
  acks.start();
  gateway.start();
  presence.start();
  const loopDelay = new EventLoopDelayMonitor();
  listener = new GatewayListener(init.limits, init.connectionCount, init.addressTable, init.unwelcomed, init.actorIndex, {
    accepted: (ws, address, acceptedAt, upgradedAt) => gateway.accept(ws, address, acceptedAt, upgradedAt),
    tlsReloaded: (error) => {
      if (error === null) log.info({ certFile: init.limits.tls?.certFile }, 'gateway.tls: certificate reloaded for new connections');
      else log.error({ err: error, certFile: init.limits.tls?.certFile }, 'gateway.tls: the changed certificate files are unusable; still serving the previous ones');
    },
  });
  if (listener.missingPages.length > 0) log.warn({ missing: listener.missingPages }, 'student pages not built: GET /client/untradex.js and /exam/ answer 503 until npm run build');
  await listener.listen(init.listen);
  log.debug({ listen: init.listen.kind, incarnation: init.incarnation }, 'connection actor listening');

  const closingSockets = (): number => {
    let closing = 0;
    for (const session of slots.values()) if (session.phase === 'closing') closing += 1;
    return closing;
  };

  const shutdown = async () => {
    presence.stop();
    let leaveTimer: NodeJS.Timeout | undefined;
    await Promise.race([presence.leaveAll(), new Promise((resolve) => (leaveTimer = setTimeout(resolve, PRESENCE_LEAVE_MS)))]);
    clearTimeout(leaveTimer);
    // The sockets finish() closed with 1001 end their handshake (the client's reply) before the
    // thread ends: destroyed with answers unread, a socket sends RST and its client may see 1006.
    const closeBy = Date.now() + CLOSE_HANDSHAKE_MS;
    while (closingSockets() > 0 && Date.now() < closeBy) await new Promise((resolve) => setTimeout(resolve, FINISH_POLL_MS));
    gateway.stop();
    loopDelay.stop();
    await acks.stop();
    await watch.stop();
    await redis.quit().catch(() => undefined);
    disconnectRedisClient(redis);
  };

  return {
    async status() {
      let live = 0;
      for (const session of slots.values()) if (session.phase === 'live') live += 1;
      return {
        actorId: init.actorId,
        connections: slots.size,
        live,
        blocked: forwarder.blockedCount + direct.pausedCount,
        eventsForwarded: forwarder.forwarded,
        directWrites: { ...direct.counts },
        acksSent: acks.acksSent,
        nacksSent: acks.nacksSent,
        rejectedUpgrades: listener?.rejectedUpgrades ?? 0,
        unwelcomed: gateway.unwelcomedCount(),
        eventLoop: loopDelay.read(),
      };
    },
    async quiesce() {
      gateway.quiesce();
      listener?.stopAccepting();
      // Held events still go into the rings as writers make room; nothing read is dropped.
      while (forwarder.holdsEvents) {
        forwarder.retryBlocked();
        await new Promise((resolve) => setTimeout(resolve, FINISH_POLL_MS));
      }
      forwarder.flush();
    },
    async finish(timeoutMs: number) {
      const deadline = Date.now() + timeoutMs;
      while (gateway.inFlight() > 0 && Date.now() < deadline) {
        acks.dispatch();
        await new Promise((resolve) => setTimeout(resolve, FINISH_POLL_MS));
      }
      acks.dispatch();
      gateway.closeAll(CloseCode.GoingAway, 'server shutting down; reconnect later');
    },
    async stop() {
      await shutdown();
    },
  };
});
