/**
 * A held message not delivered again within this many hold delays has left this instance (its
 * partition went to another instance, or the transport took it back): it no longer counts here.
 */
const GONE_AFTER_DELAYS = 5;

/** One hold of a message by a consumer. */
export interface HoldRecord {
  readonly consumer: string;
  readonly messageId: string;
  /** The type (a message type, or a stored event's) whose data is too new, at `version`. */
  readonly type: string;
  readonly version: number;
  /** The newest version of `type` this build reads. */
  readonly known: number;
  /** The hold delay: the message comes back this often while this instance holds it. */
  readonly delayMs: number;
}

interface Held extends HoldRecord {
  readonly since: number;
  seen: number;
}

/** What one consumer of this instance holds now. */
export interface HeldByConsumer {
  readonly consumer: string;
  readonly messages: number;
  /** `<type> v<version> (this build reads v<known>)`, once each, sorted. */
  readonly versions: readonly string[];
  /** Since when the longest-held of them has been held (epoch ms). */
  readonly since: number;
}

/**
 * The messages this instance holds because they are of a newer schema version than it reads
 * (the decode step's hold), or their handler met stored data of one: for `bus_messages_held`, readiness (warn) and the dashboard. A message
 * counts from its first hold until it has not come back for a while (another instance took it);
 * a held message is never handled by this build, so nothing else ends it. Per kernel.
 */
export class HeldMessages {
  readonly #held = new Map<string, Held>();

  /**
   * Records that a consumer holds a message and will try it again after `hold.delayMs`; true the
   * first time (worth a log line).
   */
  hold(hold: HoldRecord, now = Date.now()): boolean {
    const key = `${hold.consumer}\u0000${hold.messageId}`;
    const entry = this.#held.get(key);
    if (entry) {
      entry.seen = now;
      return false;
    }
    this.#held.set(key, { ...hold, since: now, seen: now });
    return true;
  }

  /** Per consumer holding any, sorted by consumer name; forgets messages gone elsewhere. */
  byConsumer(now = Date.now()): HeldByConsumer[] {
    const consumers = new Map<string, { messages: number; versions: Set<string>; since: number }>();
    for (const [key, held] of this.#held) {
      if (now - held.seen > GONE_AFTER_DELAYS * held.delayMs + 1000) {
        this.#held.delete(key);
        continue;
      }
      const summary = consumers.get(held.consumer) ?? { messages: 0, versions: new Set(), since: held.since };
      summary.messages++;
      summary.versions.add(`${held.type} v${held.version} (this build reads v${held.known})`);
      summary.since = Math.min(summary.since, held.since);
      consumers.set(held.consumer, summary);
    }
    return [...consumers]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([consumer, { messages, versions, since }]) => ({
        consumer,
        messages,
        versions: [...versions].sort(),
        since,
      }));
  }
}
