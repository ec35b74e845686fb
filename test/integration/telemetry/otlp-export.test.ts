// With the standard OTEL_EXPORTER_OTLP_* variables set, a real Untradex process sends its metrics
// and the traces of a finalize over OTLP/HTTP (JSON) to a receiver this test runs: the ack-latency
// histogram counts the acked events, and each bucket's span is a child of the finalize span.

import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { StudentClient } from '../../../src/client/student-client.js';
import { waitForExamState } from '../../helpers/exam-traffic.js';
import { pollUntil } from '../../helpers/poll.js';
import type { TeardownHost } from '../../helpers/redis-server.js';
import { startUntradexProcess } from '../../helpers/untradex.js';

interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: Array<{ key: string; value: Record<string, unknown> }> }
interface OtlpMetric { name: string; histogram?: { dataPoints: Array<{ count: number | string; bucketCounts: Array<number | string> }> } }

/** A minimal OTLP/HTTP receiver: keeps every JSON export request it is sent. */
async function startReceiver(t: TeardownHost) {
  const spans: OtlpSpan[] = [];
  const metrics: OtlpMetric[] = [];
  const paths = new Set<string>();
  const body = async (request: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    return JSON.parse((request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString()) as Record<string, unknown>;
  };
  const server = createServer((request, response) => {
    body(request).then((payload) => {
      paths.add(`${request.url} ${request.headers['content-type']}`);
      if (request.url === '/v1/traces') {
        for (const resource of payload.resourceSpans as Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      } else if (request.url === '/v1/metrics') {
        for (const resource of payload.resourceMetrics as Array<{ scopeMetrics: Array<{ metrics: OtlpMetric[] }> }>) for (const scope of resource.scopeMetrics) metrics.push(...scope.metrics);
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    }, (error: unknown) => response.writeHead(400).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, metrics, paths };
}

t.test('metrics and finalize traces reach an OTLP/HTTP receiver', async (t) => {
  const receiver = await startReceiver(t);
  const ux = await startUntradexProcess(t, { redis: { buckets: 4 }, gateway: { connectionActors: 1 }, export: { exporters: 2 } }, {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_METRIC_EXPORT_INTERVAL: '300', OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: 'untradex-otlp-test' },
  });
  const students = ['S1', 'S2', 'S3'];
  const tokens = await ux.tokens('OTLP', students);
  for (const student of students) {
    const client = new StudentClient({ url: ux.gatewayUrl, token: tokens[student]! });
    t.teardown(() => client.close());
    await client.connect();
    client.answer('Q1', `${student}-a`);
    client.answer('Q2', `${student}-b`);
    await client.flushed();
    await client.close();
  }
  const acked = students.length * 2;

  // The ack-latency histogram of a later export counts every acked event.
  const ackCount = () => {
    const points = receiver.metrics.filter((metric) => metric.name === 'ux.ack_latency_seconds').flatMap((metric) => metric.histogram?.dataPoints ?? []);
    return points.length === 0 ? 0 : Number(points[points.length - 1]!.count);
  };
  await pollUntil('the ack-latency histogram to count every ack', ackCount, (count) => count >= acked, { timeoutMs: 30_000, intervalMs: 100 });
  t.equal(ackCount(), acked, 'ux.ack_latency_seconds counts each acked event once');
  t.ok(receiver.metrics.some((metric) => metric.name === 'ux.events.stored'), 'the status instruments come too');
  t.ok(receiver.metrics.some((metric) => metric.name === 'process.cpu.time'), 'and the process metrics');

  t.equal((await ux.api('POST', '/api/exams/OTLP/finalize')).status, 202);
  await waitForExamState(ux, 'OTLP', ['exported'], 60_000);
  const finalize = () => receiver.spans.find((span) => span.name === 'ux.finalize');
  const buckets = () => receiver.spans.filter((span) => span.name === 'ux.export.bucket');
  await pollUntil('the finalize span and 4 bucket spans', () => ({ finalize: finalize() !== undefined, buckets: buckets().length }), (seen) => seen.finalize && seen.buckets >= 4, { timeoutMs: 30_000, intervalMs: 100 });
  const parent = finalize()!;
  t.equal(buckets().length, 4, 'one span per bucket');
  for (const span of buckets()) {
    t.equal(span.traceId, parent.traceId, 'in the finalize trace');
    t.equal(span.parentSpanId, parent.spanId, 'a child of the finalize span');
  }
  t.same(new Set(buckets().map((span) => span.attributes?.find((attribute) => attribute.key === 'ux.bucket')?.value.intValue).map(Number)), new Set([0, 1, 2, 3]), 'each bucket once');
  t.ok([...receiver.paths].every((path) => path.endsWith('application/json')), `JSON encoding (${[...receiver.paths].join(', ')})`);
});
