import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ConsumerWindows } from './consumer-window.js';

/**
 * The kernel's Prometheus metrics (CONTRACT section 6), one registry per app so tests and several
 * apps in one process stay apart. Counters and histograms are updated on the hot path; gauges
 * (queue depth, lag, outbox, dead letters, sagas) are read from the kernel at scrape time.
 */
export class KernelMetrics {
  readonly registry = new Registry();
  /** Each consumer's last minute (throughput, p99), for the dashboard: fed where the histogram is. */
  readonly recent = new ConsumerWindows();
  readonly published: Counter<'module' | 'type' | 'transport'>;
  readonly unrouted: Counter<'module' | 'type' | 'transport'>;
  readonly handled: Counter<'consumer' | 'type' | 'outcome' | 'transport'>;
  readonly handlerDuration: Histogram<'consumer' | 'type'>;
  readonly endToEndLatency: Histogram<'consumer' | 'type'>;
  readonly queueDepth: Gauge<'consumer' | 'transport'>;
  readonly consumerLag: Gauge<'consumer' | 'transport'>;
  readonly partitionsHeld: Gauge<'consumer' | 'transport'>;
  readonly deadLetters: Gauge<'consumer'>;
  readonly held: Gauge<'consumer'>;
  readonly consumerPaused: Gauge<'consumer'>;
  readonly outboxPending: Gauge<'module'>;
  readonly outboxOldestAge: Gauge<'module'>;
  readonly sagaInstances: Gauge<'status'>;
  readonly pruned: Counter<'module' | 'table'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly httpShed: Counter<'reason'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    this.published = new Counter({
      name: 'bus_messages_published_total',
      help: 'Messages the outbox relays handed to the transport',
      labelNames: ['module', 'type', 'transport'],
      registers,
    });
    this.unrouted = new Counter({
      name: 'bus_messages_unrouted_total',
      help: 'Publish attempts of messages that reached no queue of a consumer taking their type (kept in the outbox, retried)',
      labelNames: ['module', 'type', 'transport'],
      registers,
    });
    this.handled = new Counter({
      name: 'bus_messages_handled_total',
      help: 'Deliveries by outcome: handled, duplicate, retry, held (a newer schema version), paused (a dependency of the handler down; not an attempt), dead-lettered',
      labelNames: ['consumer', 'type', 'outcome', 'transport'],
      registers,
    });
    this.handlerDuration = new Histogram({
      name: 'bus_handler_duration_seconds',
      help: 'Time in the handler and its transaction',
      labelNames: ['consumer', 'type'],
      buckets: latencyBuckets,
      registers,
    });
    this.endToEndLatency = new Histogram({
      name: 'bus_end_to_end_latency_seconds',
      help: 'From the event time (staging) to handled',
      labelNames: ['consumer', 'type'],
      buckets: latencyBuckets,
      registers,
    });
    const gauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Gauge<L>({ name, help, labelNames, registers });
    this.queueDepth = gauge('bus_queue_depth', 'Messages waiting in the consumer queue', [
      'consumer',
      'transport',
    ]);
    this.consumerLag = gauge(
      'bus_consumer_lag_messages',
      'Messages published to the consumer, not yet handled',
      ['consumer', 'transport'],
    );
    this.partitionsHeld = gauge(
      'bus_partitions_held',
      'Partition queues of the consumer this instance works (instances share them)',
      ['consumer', 'transport'],
    );
    this.deadLetters = gauge('bus_dead_letters', 'Dead letters kept per consumer', ['consumer']);
    this.held = gauge(
      'bus_messages_held',
      'Messages of a newer schema version than this build reads, held (each holding back its key) for an instance of a newer build',
      ['consumer'],
    );
    this.consumerPaused = gauge(
      'bus_consumer_paused',
      'Whether the consumer is paused (1) because a dependency of its handler is down: it takes no message until the dependency is worth trying again',
      ['consumer'],
    );
    this.outboxPending = gauge('outbox_pending_messages', 'Committed messages not yet published', ['module']);
    this.outboxOldestAge = gauge(
      'outbox_oldest_pending_age_seconds',
      'Age of the oldest unpublished message',
      ['module'],
    );
    this.sagaInstances = gauge('saga_instances', 'Saga instances by status', ['status']);
    this.pruned = new Counter({
      name: 'kernel_rows_pruned_total',
      help: 'Inbox records and published outbox rows deleted after their retention (INBOX_RETENTION_HOURS, OUTBOX_RETENTION_MINUTES)',
      labelNames: ['module', 'table'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route', 'status_code'],
      buckets: latencyBuckets,
      registers,
    });
    this.httpShed = new Counter({
      name: 'http_requests_shed_total',
      help: 'State-changing requests refused with 503 HTTP_BACKPRESSURE, by the backlog over its bound (outbox_pending, consumer_lag)',
      labelNames: ['reason'],
      registers,
    });
  }
}
