import type { PauseState } from '../../messaging/consumer-pause.js';
import type { DeadLetter } from '../../messaging/dead-letters.js';
import type { ConsumerStats } from '../../messaging/transport.js';
import type { HealthCheck, Kernel } from '../../modules/kernel.js';
import type { OutboxStats } from '../../outbox/relay.js';
import { packageInfo } from '../../package-info.js';
import type { SagaListing } from '../../sagas/store.js';
import { withTimeout } from '../../time.js';

/** Dead letters and sagas shown on the page (the JSON routes page through them all). */
export const SHOWN_DEAD_LETTERS = 100;
export const SHOWN_SAGAS = 25;
/** A broker that does not answer in time must not hang the page: its figures show as unknown. */
const BROKER_ANSWER_MS = 2000;

export interface ConsumerRow {
  readonly name: string;
  readonly module: string;
  readonly types: readonly string[];
  /** Undefined when the transport did not report this consumer. */
  readonly stats: ConsumerStats | undefined;
  readonly deadLetters: number;
  /** Messages it holds for a newer build (a newer schema version than this build reads). */
  readonly held: number;
  /** Why it takes no message now (a dependency of its handler is down), or undefined: running. */
  readonly paused: PauseState | undefined;
}

/** Everything the dashboard shows, read from this process's kernel. */
export interface DashboardView {
  readonly version: string;
  readonly transport: string;
  readonly modules: readonly string[];
  readonly health: Readonly<Record<string, HealthCheck>>;
  readonly consumers: readonly ConsumerRow[];
  /** Why queue depth and lag are unknown, when the transport did not answer. */
  readonly statsProblem: string | undefined;
  readonly deadLetters: readonly DeadLetter[];
  readonly deadLetterTotal: number;
  readonly sagaCounts: Readonly<Record<string, number>>;
  readonly recentSagas: readonly SagaListing[];
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

export async function loadDashboardView(kernel: Kernel): Promise<DashboardView> {
  const [{ stats, problem }, health] = await Promise.all([transportStats(kernel), healthChecks(kernel)]);
  const lettersPerConsumer = await kernel.deadLetterCounts();
  const held = new Map(kernel.heldMessages.byConsumer().map((h) => [h.consumer, h.messages]));
  const paused = new Map(kernel.pausedConsumers().map((p) => [p.consumer, p]));
  return {
    version: packageInfo.version,
    transport: kernel.transport.name,
    modules: kernel.modules.map((m) => m.definition.name),
    health,
    consumers: kernel.consumers().map((consumer) => ({
      ...consumer,
      stats: stats.find((s) => s.consumer === consumer.name),
      deadLetters: lettersPerConsumer.get(consumer.name) ?? 0,
      held: held.get(consumer.name) ?? 0,
      paused: paused.get(consumer.name),
    })),
    statsProblem: problem,
    // newest first: the one that just failed is the one an admin came for
    deadLetters: await kernel.newestDeadLetters(SHOWN_DEAD_LETTERS),
    deadLetterTotal: [...lettersPerConsumer.values()].reduce((sum, n) => sum + n, 0),
    sagaCounts: await kernel.sagaCountsByStatus(),
    recentSagas: (await kernel.listSagas({ limit: SHOWN_SAGAS })).items,
    outbox: await kernel.outboxStats(),
    generatedAt: new Date().toISOString(),
  };
}
