/** Thrown by a handler when retrying cannot help: the message goes straight to the dead letters. */
export class NonRetryableError extends Error {
  override readonly name: string = 'NonRetryableError';
}

/** A message that is not JSON, not an envelope, of an unknown type, or violating its schema. */
export class BadMessageError extends NonRetryableError {
  override readonly name = 'BadMessageError';
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
