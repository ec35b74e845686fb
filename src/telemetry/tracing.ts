// Traces of the export: a span for each finalize job and a child span for each bucket an exporter
// thread writes, sent over OTLP/HTTP when the OTLP variables are set. Without them no SDK starts and
// the spans are the API's no-ops; the trace context crosses into the exporter threads in the task.

import { context, propagation, ROOT_CONTEXT, trace, type Context, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { untradexResource } from './otel-resource.js';
import { otlpSettingsFromEnv } from './otlp-settings.js';

export const TRACER_NAME = 'untradex';
/** The whole export job of one exam, from its start to `exported` (or its failure). */
export const FINALIZE_SPAN = 'ux.finalize';
/** One bucket read from Redis and committed to the sink, in an exporter thread. */
export const BUCKET_SPAN = 'ux.export.bucket';

/** The W3C trace context of a span, as plain strings that travel in a task to another thread. */
export type TraceCarrier = Record<string, string>;

let provider: NodeTracerProvider | null = null;

/**
 * Starts this thread's tracer provider once if OTLP traces are asked for (the main thread and each
 * exporter thread have their own); returns whether tracing is on.
 */
export function startTracingFromEnv(): boolean {
  if (provider !== null) return true;
  if (!otlpSettingsFromEnv().traces) return false;
  provider = new NodeTracerProvider({ resource: untradexResource(), spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  // Registers the async-hooks context manager and the W3C trace-context propagator with the API.
  provider.register();
  return true;
}

/** Sends the spans ended so far; exporter threads call it after each bucket, as piscina may end a thread at any time. */
export async function flushTraces(): Promise<void> {
  await provider?.forceFlush();
}

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** The active context's trace, to hand to another thread ({} when nobody traces). */
export function traceCarrier(from: Context = context.active()): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(from, carrier);
  return carrier;
}

/** The context a carrier came from, to parent the spans of this thread on. */
export function contextFromCarrier(carrier: TraceCarrier | undefined): Context {
  return carrier === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, carrier);
}
