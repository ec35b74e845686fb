// The OpenTelemetry resource every signal of this process carries: service.name "untradex" unless
// OTEL_SERVICE_NAME says otherwise, plus OTEL_RESOURCE_ATTRIBUTES, the host and the process.

import { detectResources, envDetector, hostDetector, processDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';

export function untradexResource(): Resource {
  // Detectors later in the list win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the default name.
  return resourceFromAttributes({ 'service.name': 'untradex' }).merge(detectResources({ detectors: [hostDetector, processDetector, envDetector] }));
}
