/**
 * The OpenTelemetry SDK of the tracing rows, registered in the app child before the app starts:
 * what the kernel's spans cost with an SDK that records them, without the network of an exporter.
 */
import { BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

const EMPTY_EVERY_MS = 1000;

/**
 * `sdk`: a NodeTracerProvider with no span processor (spans are recorded, then dropped);
 * `exporter`: a BatchSpanProcessor (the SDK's defaults, as OTEL_EXPORTER_OTLP_ENDPOINT sets up)
 * into an InMemorySpanExporter, emptied every second so that memory stays flat. Anything else: none.
 */
export function registerBenchTracing(mode: string | undefined): void {
  if (mode !== 'sdk' && mode !== 'exporter') return;
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider(
    mode === 'exporter' ? { spanProcessors: [new BatchSpanProcessor(exporter)] } : {},
  );
  provider.register();
  if (mode === 'exporter') setInterval(() => exporter.reset(), EMPTY_EVERY_MS).unref();
}
