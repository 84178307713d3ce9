import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { redactUrl } from '../config.js';
import { packageInfo } from '../package-info.js';
import type { Logger } from './logger.js';

/** The OpenTelemetry SDK this process registered: flushed and stopped with the process. */
export interface TracingSdk {
  /** Exports the spans still buffered, then stops the exporter (call once, at shutdown). */
  shutdown(): Promise<void>;
}

/** Resource attribute naming the modules a process runs (every process of a split deployment has its own). */
export const MODULES_RESOURCE_ATTRIBUTE = 'modulith.modules';

/**
 * Registers the OpenTelemetry Node SDK for this process: a NodeTracerProvider whose spans go
 * through a BatchSpanProcessor (OTEL_BSP_* tune it) to an OTLP/HTTP exporter (JSON) at `endpoint`
 * + `/v1/traces`, an AsyncLocalStorage context manager and the W3C trace-context propagator. The
 * service is `modulith` (OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override), with the
 * modules it runs. The kernel's spans (observability/tracing.ts) record from then on.
 */
export function startTracingSdk(endpoint: string, modules: readonly string[], log: Logger): TracingSdk {
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: packageInfo.name,
        [ATTR_SERVICE_VERSION]: packageInfo.version,
        [MODULES_RESOURCE_ATTRIBUTE]: modules.join(','),
      }),
    )
    .merge(detectResources({ detectors: [envDetector] }));
  const url = `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  log.info({ url: redactUrl(url) }, 'tracing: exporting OpenTelemetry spans over OTLP/HTTP');
  return {
    async shutdown() {
      try {
        await provider.shutdown();
      } catch (error) {
        log.warn({ err: error }, 'tracing: the last spans could not be exported');
      }
    },
  };
}
