/**
 * Which errors of a Redis connection that was never ready are permanent: the server refused the
 * password (or asked for one), or the URL names a database the server does not have. ioredis
 * reconnects after them forever, so start would wait its whole window and then report that "Redis
 * did not answer"; the connection is stopped at once with the server's reply instead. Socket
 * errors (ECONNREFUSED, timeouts, a restarting server's LOADING) stay transient.
 */

/** Reply prefixes that only a change of REDIS_URL or of the server's setup mends, with what they mean. */
const PERMANENT_REPLIES: readonly (readonly [prefix: string, meaning: string])[] = [
  ['NOAUTH', 'Redis requires a password and REDIS_URL gives none'],
  ['WRONGPASS', 'Redis refused the user or password'],
  ['ERR invalid password', 'Redis refused the password'], // Redis before 6 (no ACL users)
  ['ERR DB index is out of range', 'no such database on this Redis'],
];

/** What is wrong, in one line without the URL, when `error` is permanent; undefined when transient. */
export function permanentCause(error: Error): string | undefined {
  // ioredis passes on the server's error replies as ReplyError (its `ReplyError` export is untyped)
  if (error.name !== 'ReplyError') return undefined;
  const found = PERMANENT_REPLIES.find(([prefix]) => error.message.startsWith(prefix));
  return found && `${found[1]} (${error.message.replace(/\.$/, '')})`;
}

/** For a URL ioredis will not even parse (it throws from its constructor). */
export function invalidUrlCause(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message === 'Invalid URL' ? 'invalid URL' : `invalid URL (${message})`;
}
