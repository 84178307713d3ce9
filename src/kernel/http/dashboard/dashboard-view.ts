import type { PauseState } from '../../messaging/consumer-pause.js';
import type { DeadLetterGroup } from '../../messaging/dead-letters.js';
import type { ConsumerStats } from '../../messaging/transport.js';
import type { HealthCheck, Kernel } from '../../modules/kernel.js';
import type { OutboxStats } from '../../outbox/relay.js';
import { packageInfo } from '../../package-info.js';
import type { SagaListing } from '../../sagas/store.js';
import { withTimeout } from '../../time.js';
import type { ConsumerHistory, HistoryPoint } from './history.js';

/** Dead-letter groups and sagas an instance reports (the JSON routes page through them all). */
export const SHOWN_DEAD_LETTER_GROUPS = 100;
export const SHOWN_SAGAS = 25;
/** An envelope shown in full would drown the page; the JSON route has all of it. */
export const SHOWN_EVENT_CHARS = 2000;
/** A broker that does not answer in time must not hang the page: its figures show as unknown. */
const BROKER_ANSWER_MS = 2000;

export interface ConsumerRow {
  readonly name: string;
  readonly module: string;
  readonly types: readonly string[];
  /** Undefined when the transport did not report this consumer. */
  readonly stats: ConsumerStats | undefined;
  /** Messages handled per second over the last minute, by this instance. */
  readonly throughputPerSecond: number;
  /** p99 of the time per delivery over the last minute (seconds); undefined without deliveries. */
  readonly p99Seconds: number | undefined;
  /** The last 15 minutes, oldest first. */
  readonly history: readonly HistoryPoint[];
  readonly deadLetters: number;
  /** Messages it holds for a newer build (a newer schema version than this build reads). */
  readonly held: number;
  /** Why it takes no message now (a dependency of its handler is down), or undefined: running. */
  readonly paused: PauseState | undefined;
}

/** A dead-letter group as an instance reports it: its module, and the sample shortened as text. */
export interface ReportedGroup extends Omit<DeadLetterGroup, 'sample'> {
  readonly module: string;
  /** The latest letter's message as text (JSON), cut at SHOWN_EVENT_CHARS. */
  readonly sample: string;
}

/** A saga instance as an instance reports it: the path of its subject's timeline, when it has one. */
export interface ReportedSaga extends SagaListing {
  readonly timeline: string | undefined;
}

/**
 * What one process reports of itself (`GET /admin/instance`): everything the dashboard shows of
 * it. Plain JSON: the dashboard of another process reads it over HTTP.
 */
export interface InstanceSnapshot {
  readonly version: string;
  readonly transport: string;
  readonly modules: readonly string[];
  readonly health: Readonly<Record<string, HealthCheck>>;
  readonly consumers: readonly ConsumerRow[];
  /** Why queue depth and lag are unknown, when the transport did not answer. */
  readonly statsProblem: string | undefined;
  readonly deadLetterGroups: readonly ReportedGroup[];
  readonly deadLetterTotal: number;
  readonly sagaCounts: Readonly<Record<string, number>>;
  readonly recentSagas: readonly ReportedSaga[];
  readonly outbox: readonly OutboxStats[];
  readonly generatedAt: string;
}

async function transportStats(kernel: Kernel): Promise<{ stats: ConsumerStats[]; problem?: string }> {
  try {
    return {
      stats: await withTimeout(
        kernel.transport.stats(),
        BROKER_ANSWER_MS,
        `transport stats: no answer within ${BROKER_ANSWER_MS} ms`,
      ),
    };
  } catch (error) {
    return { stats: [], problem: error instanceof Error ? error.message : String(error) };
  }
}

async function healthChecks(kernel: Kernel): Promise<Record<string, HealthCheck>> {
  try {
    return await withTimeout(
      kernel.health(),
      BROKER_ANSWER_MS,
      `health: no answer within ${BROKER_ANSWER_MS} ms`,
    );
  } catch (error) {
    return { health: { status: 'fail', detail: error instanceof Error ? error.message : String(error) } };
  }
}

/** A message as text for the page: JSON, cut at SHOWN_EVENT_CHARS. */
export function shownText(message: unknown): string {
  const text = typeof message === 'string' ? message : JSON.stringify(message, null, 2);
  return text.length > SHOWN_EVENT_CHARS ? `${text.slice(0, SHOWN_EVENT_CHARS)} …` : text;
}

/** The consumers' lag as the transport reports it now (for the history's samples). */
export async function consumerLags(kernel: Kernel): Promise<Map<string, number>> {
  const stats = await withTimeout(kernel.transport.stats(), BROKER_ANSWER_MS, 'transport stats: no answer');
  return new Map(stats.map((s) => [s.consumer, s.lag]));
}

export async function loadInstanceSnapshot(
  kernel: Kernel,
  history: ConsumerHistory,
  timelineOf: (saga: SagaListing) => string | undefined,
): Promise<InstanceSnapshot> {
  const [{ stats, problem }, health] = await Promise.all([transportStats(kernel), healthChecks(kernel)]);
  const lettersPerConsumer = await kernel.deadLetterCounts();
  const held = new Map(kernel.heldMessages.byConsumer().map((h) => [h.consumer, h.messages]));
  const paused = new Map(kernel.pausedConsumers().map((p) => [p.consumer, p]));
  const now = Date.now();
  return {
    version: packageInfo.version,
    transport: kernel.transport.name,
    modules: kernel.modules.map((m) => m.definition.name),
    health,
    consumers: kernel.consumers().map((consumer) => {
      const recent = kernel.metrics.recent.read(consumer.name, now);
      return {
        ...consumer,
        stats: stats.find((s) => s.consumer === consumer.name),
        throughputPerSecond: recent.throughputPerSecond,
        p99Seconds: recent.p99Seconds,
        history: history.of(consumer.name),
        deadLetters: lettersPerConsumer.get(consumer.name) ?? 0,
        held: held.get(consumer.name) ?? 0,
        paused: paused.get(consumer.name),
      };
    }),
    statsProblem: problem,
    deadLetterGroups: (await kernel.deadLetterGroups(SHOWN_DEAD_LETTER_GROUPS)).map((group) => ({
      ...group,
      sample: shownText(group.sample),
    })),
    deadLetterTotal: [...lettersPerConsumer.values()].reduce((sum, n) => sum + n, 0),
    sagaCounts: await kernel.sagaCountsByStatus(),
    recentSagas: (await kernel.listSagas({ limit: SHOWN_SAGAS })).items.map((saga) => ({
      ...saga,
      timeline: timelineOf(saga),
    })),
    outbox: await kernel.outboxStats(),
    generatedAt: new Date(now).toISOString(),
  };
}
