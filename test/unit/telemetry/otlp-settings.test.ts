// Which OTLP parts start is read from the standard variables: none set, nothing starts (zero cost).

import t from 'tap';
import { otlpSettingsFromEnv } from '../../../src/telemetry/otlp-settings.js';

t.test('nothing starts without an OTLP endpoint', async (t) => {
  const settings = otlpSettingsFromEnv({});
  t.equal(settings.metrics, false);
  t.equal(settings.traces, false);
  t.equal(settings.exportIntervalMs, 60_000, 'the specification default');
});

t.test('the common endpoint switches both on; the per-signal ones each their own', async (t) => {
  t.match(otlpSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), { metrics: true, traces: true });
  t.match(otlpSettingsFromEnv({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://c/v1/metrics' }), { metrics: true, traces: false });
  t.match(otlpSettingsFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/v1/traces' }), { metrics: false, traces: true });
  t.match(otlpSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }), { metrics: false, traces: false }, 'blank is unset');
});

t.test('the switches and the interval of the specification are honoured', async (t) => {
  const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
  t.match(otlpSettingsFromEnv({ ...endpoint, OTEL_SDK_DISABLED: 'true' }), { metrics: false, traces: false });
  t.match(otlpSettingsFromEnv({ ...endpoint, OTEL_METRICS_EXPORTER: 'none' }), { metrics: false, traces: true });
  t.match(otlpSettingsFromEnv({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }), { metrics: true, traces: false });
  t.match(otlpSettingsFromEnv({ ...endpoint, OTEL_METRIC_EXPORT_INTERVAL: '5000' }), { exportIntervalMs: 5000, exportTimeoutMs: 5000 }, 'the timeout never exceeds the interval');
  t.match(otlpSettingsFromEnv({ ...endpoint, OTEL_METRIC_EXPORT_INTERVAL: 'soon' }), { exportIntervalMs: 60_000 }, 'a bad value falls back to the default');
});
