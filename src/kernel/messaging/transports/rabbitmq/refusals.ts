/**
 * Which failures of a first AMQP connection are permanent: the broker refused the login or the
 * virtual host, or amqplib cannot use the URL. Waiting the whole start window for those only hides
 * their cause behind "no RabbitMQ answered", so the link fails at once with them (across a node
 * list, once every node was tried: FirstConnectionRefusals). Everything else
 * (a refused or reset socket, a timeout, a broker shutting down with 320 CONNECTION_FORCED) stays
 * transient: the broker may come up.
 */

/**
 * amqplib's text for a connection.close answering the login (connection.start-ok). RabbitMQ sends
 * one (we advertise `authentication_failure_close`) instead of dropping the socket; amqplib keeps
 * the reply code only in this text, not in `error.code`.
 */
const HANDSHAKE_CLOSE = /^Handshake terminated by server: (\d+) \(([A-Z-]+)\) with message "(.*)"$/s;
/**
 * amqplib's text when connection.open is answered by connection.close: RabbitMQ does that with
 * 530 NOT_ALLOWED for a virtual host that does not exist or that the user may not use. amqplib
 * drops the reply text here, so the message names the vhost and user from the URL instead.
 */
const OPEN_REFUSED = /^Expected ConnectionOpenOk; got <ConnectionClose\b/;
/** ACCESS_REFUSED and NOT_ALLOWED: only a change of the credentials or the broker's setup mends them. */
const PERMANENT_CODES = new Set([403, 530]);
/** amqplib throws this, inside its reconnect loop, for a URL it cannot parse. */
const UNPARSABLE = /^Expected amqp: or amqps: as the protocol/;

/** A node's permanent refusal: its index in the node list, and what is wrong. */
export interface NodeRefusal {
  readonly node: number;
  readonly cause: string;
}

/**
 * The answers of a first connection across a node list (AMQP_URL, comma separated). A node that
 * refuses for good does not stop the start at once: the next node is tried, because the refusing
 * node may be one being rebuilt before it rejoins the cluster (its own users and vhosts, not yet
 * the cluster's). Once every node has been tried and none took the connection, a refusal among
 * their latest answers is the start's error: the nodes of a cluster share their users and vhosts,
 * so waiting longer would only hide its cause behind "no RabbitMQ answered". With one node, that
 * is its first refusal.
 */
export class FirstConnectionRefusals {
  readonly #nodes: number;
  readonly #tried = new Set<number>();
  readonly #causes = new Map<number, string>();

  constructor(nodes: number) {
    this.#nodes = nodes;
  }

  /** The latest failed attempt on `node`: a permanent `cause`, or undefined when transient. */
  record(node: number, cause: string | undefined): void {
    this.#tried.add(node);
    if (cause === undefined) this.#causes.delete(node);
    else this.#causes.set(node, cause);
  }

  /** The refusal to fail with once every node was tried: the first node's, in list order. */
  verdict(): NodeRefusal | undefined {
    return this.#tried.size === this.#nodes ? this.first() : undefined;
  }

  /** The first node's refusal, in list order, whether or not every node was tried. */
  first(): NodeRefusal | undefined {
    const [node] = [...this.#causes.keys()].sort((a, b) => a - b);
    const cause = node === undefined ? undefined : this.#causes.get(node);
    return node === undefined || cause === undefined ? undefined : { node, cause };
  }
}

/** What is wrong, in one line without the URL, when `error` is permanent; undefined when transient. */
export function permanentCause(error: Error, url: string): string | undefined {
  const close = HANDSHAKE_CLOSE.exec(error.message);
  if (close) return handshakeRefusal(Number(close[1]), close[2] ?? '', close[3] ?? '', url);
  if (OPEN_REFUSED.test(error.message)) {
    const { user, vhost } = identity(url);
    return `virtual host "${vhost}" not found or not open to user "${user}" (530 NOT_ALLOWED)`;
  }
  // TypeError: an option of the URL amqplib cannot encode (?heartbeat=abc); RangeError: Node
  // refusing the socket options (a bad port)
  if (error instanceof TypeError || error instanceof RangeError || UNPARSABLE.test(error.message)) {
    return error.message === 'Invalid URL' ? 'invalid URL' : `invalid URL (${error.message})`;
  }
  return undefined;
}

function handshakeRefusal(code: number, name: string, text: string, url: string): string | undefined {
  if (!PERMANENT_CODES.has(code)) return undefined;
  const constant = name.replaceAll('-', '_'); // amqplib spells it ACCESS-REFUSED, the spec ACCESS_REFUSED
  const reason = text.replace(/^[A-Z_]+ - /, ''); // RabbitMQ starts the text with the constant again
  const what = code === 403 ? `login of user "${identity(url).user}" refused` : 'connection refused';
  return `${what} (${code} ${constant}: ${reason})`;
}

/** The user and virtual host amqplib logs in with for `url` (guest and "/" when it names none). */
function identity(url: string): { user: string; vhost: string } {
  try {
    const parsed = new URL(url);
    const vhost = parsed.pathname.slice(1);
    const named = parsed.username !== '' || parsed.password !== '';
    return {
      user: named ? decodeURIComponent(parsed.username) : 'guest',
      vhost: vhost ? decodeURIComponent(vhost) : '/',
    };
  } catch {
    return { user: 'guest', vhost: '/' };
  }
}
