// The latency histograms of the status as OpenTelemetry metric data: a MetricProducer that every
// reader of the pipeline (Prometheus text, OTLP) collects alongside the API instruments.
//
// Why a producer and not an API histogram: the histograms are counted in the connection actors'
// threads, one typed-array increment per acked event (actors/connection/wire-tallies.ts), and
// arrive here already bucketed. The OpenTelemetry API has no observable histogram, and recording
// each event again here would cost a call per event on the main thread; a producer hands the SDK
// the buckets as they are, cumulative since the process started.

import { ValueType, type HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type CollectionResult, type HistogramMetricData, type MetricProducer } from '@opentelemetry/sdk-metrics';
import type { SystemStatus } from '../control/control-backend.js';
import type { HistogramSnapshot } from './latency-histogram.js';
import { METER_NAME } from './otel-metrics.js';

export const ACK_LATENCY_METRIC = 'ux.ack_latency_seconds';
export const WELCOME_LATENCY_METRIC = 'ux.welcome_latency_seconds';
export const UPGRADE_LATENCY_METRIC = 'ux.upgrade_latency_seconds';
export const HELLO_WAIT_METRIC = 'ux.hello_wait_seconds';

export class StatusMetricProducer implements MetricProducer {
  private readonly startTime: HrTime = hrTime();

  constructor(private readonly readStatus: () => Promise<SystemStatus>) {}

  async collect(): Promise<CollectionResult> {
    const status = await this.readStatus();
    const endTime = hrTime();
    return {
      errors: [],
      resourceMetrics: {
        resource: emptyResource(),
        scopeMetrics: [
          {
            scope: { name: METER_NAME },
            metrics: [
              this.histogram(ACK_LATENCY_METRIC, 'From an event frame read off the socket to the ack frame that covers it, per acked event.', status.latency.ack, endTime),
              this.histogram(WELCOME_LATENCY_METRIC, 'From the hello frame read off the socket to the welcome sent.', status.latency.welcome, endTime),
              this.histogram(UPGRADE_LATENCY_METRIC, 'From a student socket accepted (with TLS, its handshake done) to the 101 of its WebSocket upgrade written.', status.latency.upgrade, endTime),
              this.histogram(HELLO_WAIT_METRIC, 'From the 101 of a WebSocket upgrade written to the hello frame read off the socket.', status.latency.helloWait, endTime),
            ],
          },
        ],
      },
    };
  }

  private histogram(name: string, description: string, snapshot: HistogramSnapshot, endTime: HrTime): HistogramMetricData {
    return {
      descriptor: { name, description, unit: 's', valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [
        {
          startTime: this.startTime,
          endTime,
          attributes: {},
          value: {
            buckets: { boundaries: snapshot.boundsMs.map((ms) => ms / 1000), counts: [...snapshot.counts] },
            sum: snapshot.sumMs / 1000,
            count: snapshot.count,
          },
        },
      ],
    };
  }
}
