/** Thrown by a handler when retrying cannot help: the message goes straight to the dead letters. */
export class NonRetryableError extends Error {
  override readonly name: string = 'NonRetryableError';
}

/** A message that is not JSON, not an envelope, of an unknown type, or violating its schema. */
export class BadMessageError extends NonRetryableError {
  override readonly name = 'BadMessageError';
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
