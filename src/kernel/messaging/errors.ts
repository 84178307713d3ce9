import type { Envelope } from './envelope.js';

/** Thrown by a handler when retrying cannot help: the message goes straight to the dead letters. */
export class NonRetryableError extends Error {
  override readonly name: string = 'NonRetryableError';
}

/** A message that is not JSON, not an envelope, of an unknown type, or violating its schema. */
export class BadMessageError extends NonRetryableError {
  override readonly name = 'BadMessageError';
}

/**
 * Data of a newer schema version than this build knows, which does not validate as the newest
 * version it knows: a message a newer build published, or an event it stored. Not bad data: a
 * newer build reads it. A consumer that meets it (in decode, or from its handler reading stored
 * events) holds the message, its key waiting, until an instance of a newer build takes it.
 */
export class NewerSchemaVersionError extends Error {
  override readonly name = 'NewerSchemaVersionError';
  /** The message type, or `<module>.<Name>` of a stored event. */
  readonly type: string;
  readonly version: number;
  /** The newest version this build knows. */
  readonly known: number;
  /** The envelope as received, when the data is the message's own (its data unread). */
  readonly envelope: Envelope | undefined;

  constructor(type: string, version: number, known: number, problems: string, envelope?: Envelope) {
    super(
      `${type} schema version ${version} is newer than this build's ${known} and does not read as ` +
        `version ${known} (${problems}): held for an instance that knows it`,
    );
    this.type = type;
    this.version = version;
    this.known = known;
    this.envelope = envelope;
  }
}

/**
 * Thrown by a handler when something outside the app that it needs is down (a circuit breaker
 * around it is open): not the message's fault, and retrying it now would only spend its attempts
 * and dead-letter it. The consumer pauses instead: it takes no new delivery for `retryAfterMs`
 * (when the dependency may answer again: the breaker half-opens), then starts with this message.
 * A pause is not an attempt, so an outage never dead-letters (pipeline/pause.ts).
 */
export class DependencyUnavailableError extends Error {
  override readonly name = 'DependencyUnavailableError';
  /** What is down, as operators know it (metrics, logs, the dashboard): `notification channel`. */
  readonly dependency: string;
  /** How long until the dependency is worth trying again. */
  readonly retryAfterMs: number;

  constructor(dependency: string, retryAfterMs: number, options?: { readonly cause?: unknown }) {
    super(`${dependency} is unavailable; try again in ${Math.round(retryAfterMs)} ms`, options);
    this.dependency = dependency;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * A publish that some message of the batch could not reach a consumer that takes its type: no
 * queue took it (its topology was deleted under the process), or, on the memory transport, its
 * consumer does not run in this process. The transport has accepted none of the batch as
 * published: the outbox keeps the rows and the relay retries them.
 */
export class UnroutedError extends Error {
  override readonly name = 'UnroutedError';
  /** The type of each message that no consumer's queue took, once per message. */
  readonly types: readonly string[];

  constructor(types: readonly string[], reason: string) {
    super(`${types.length} message(s) reached no queue (${[...new Set(types)].join(', ')}): ${reason}`);
    this.types = types;
  }
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
