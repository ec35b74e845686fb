// Whether OTLP export is switched on, read from the standard OpenTelemetry environment variables:
// with none of the endpoints set nothing of the SDK's export side starts, so it costs nothing.

export interface OtlpSettings {
  /** OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set. */
  metrics: boolean;
  /** OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. */
  traces: boolean;
  /** OTEL_METRIC_EXPORT_INTERVAL, ms (the specification's default: 60 s). */
  exportIntervalMs: number;
  /** OTEL_METRIC_EXPORT_TIMEOUT, ms (default 30 s), never above the interval. */
  exportTimeoutMs: number;
}

const DEFAULT_INTERVAL_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 30_000;

function positiveInteger(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return text !== undefined && text.trim() !== '' && Number.isInteger(value) && value > 0 ? value : fallback;
}

const isSet = (value: string | undefined) => value !== undefined && value.trim() !== '';

/**
 * The exporters themselves read the endpoints, headers and timeouts from the same variables; this
 * only decides what starts. OTEL_SDK_DISABLED=true, OTEL_METRICS_EXPORTER=none and
 * OTEL_TRACES_EXPORTER=none switch the parts off as the specification says.
 */
export function otlpSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): OtlpSettings {
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  const any = isSet(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const exportIntervalMs = positiveInteger(env.OTEL_METRIC_EXPORT_INTERVAL, DEFAULT_INTERVAL_MS);
  return {
    metrics: !disabled && env.OTEL_METRICS_EXPORTER?.trim() !== 'none' && (any || isSet(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)),
    traces: !disabled && env.OTEL_TRACES_EXPORTER?.trim() !== 'none' && (any || isSet(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)),
    exportIntervalMs,
    exportTimeoutMs: Math.min(exportIntervalMs, positiveInteger(env.OTEL_METRIC_EXPORT_TIMEOUT, DEFAULT_TIMEOUT_MS)),
  };
}
