import type { Envelope } from '../messaging/envelope.js';
import { on, type Subscription } from '../messaging/subscription.js';
import type { Logger } from '../observability/logger.js';
import type { Tx } from '../outbox/outbox.js';
import { type ModuleDatabase, outsideTransactions } from '../persistence/db.js';
import type { AccountDirectory, AccountState } from './directory.js';
import { type AccountFeed, accountConsumerOf } from './feed.js';

type StagedHook = (tx: Tx, message: Envelope) => void | Promise<void>;

/** What the kernel wires into one running module (`AccountCopies.attach`). */
export interface ModuleAccounts {
  readonly onMessageStaged: StagedHook | undefined;
  /** Run after each of the module's transactions has committed (the owner's only). */
  readonly committed: (() => Promise<void>) | undefined;
  readonly subscriptions: readonly Subscription[];
}

/** How often each process reads the changes its sibling instances wrote to a shared database. */
export const ACCOUNT_POLL_MS = 1000;

interface AccountRow {
  readonly user_id: string;
  readonly role: 'user' | 'admin';
  readonly token_version: number;
  readonly deleted: number;
  readonly seq: number;
}

// A change takes the next seq of the table, so a reader that remembers the last seq it saw finds
// every later change (write transactions of one database never overlap: seqs commit in order).
const UPSERT = `
  INSERT INTO kernel_accounts (user_id, role, token_version, deleted, seq)
  VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM kernel_accounts))
  ON CONFLICT (user_id) DO UPDATE SET
    role = excluded.role, token_version = excluded.token_version,
    deleted = excluded.deleted, seq = excluded.seq
  WHERE excluded.token_version > kernel_accounts.token_version`;
const SINCE = 'SELECT * FROM kernel_accounts WHERE seq > ? ORDER BY seq';

/** One module database's copy of the accounts (table kernel_accounts). */
export class AccountCopy {
  readonly #upsert;
  readonly #since;
  /** The last seq this process has read into its directory. */
  #seen = 0;

  constructor(readonly database: ModuleDatabase) {
    this.#upsert = database.statement<[string, string, number, number]>(UPSERT);
    this.#since = database.statement<[number], AccountRow>(SINCE);
  }

  /** Inside a transaction of the database: writes `state` unless the copy has that version or a newer one. */
  async record(state: AccountState): Promise<void> {
    await this.#upsert.run(state.userId, state.role, state.tokenVersion, state.deleted ? 1 : 0);
  }

  /**
   * Feeds `directory` with the committed changes it has not read yet. Outside any transaction's
   * context, so it reads on the reader connection: a change still uncommitted (a savepoint of an
   * outer transaction) is never learned, and is read by a later call once it commits.
   */
  async readInto(directory: AccountDirectory): Promise<void> {
    const rows = await outsideTransactions(() => this.#since.all(this.#seen));
    for (const row of rows) {
      directory.learn({
        userId: row.user_id,
        role: row.role,
        tokenVersion: row.token_version,
        deleted: row.deleted === 1,
      });
      this.#seen = row.seq;
    }
  }
}

/**
 * The process's account directory kept up to date from the copies of its modules' databases:
 * read whole at open, then every ACCOUNT_POLL_MS (what sibling instances sharing a database
 * wrote), and at once after this process writes a copy (a delivery, or the owner's own change).
 */
export class AccountCopies {
  readonly #copies: AccountCopy[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly directory: AccountDirectory,
    readonly feed: AccountFeed,
    readonly log: Logger,
  ) {}

  /**
   * What a running module gets: a copy in its database, read into the directory now; the owner
   * writes it in the transaction that stages each change (its `onMessageStaged`, chained after the
   * module's own hook: no delivery back to itself) and has it learned as soon as that commits
   * (`committed`, run after each of its `ctx.transact`; a change one of its handlers staged is read
   * by the next poll); every other module keeps it through a consumer of the owner's events.
   */
  async attach(
    definition: { readonly name: string; readonly onMessageStaged?: StagedHook | undefined },
    owner: boolean,
    database: ModuleDatabase,
  ): Promise<ModuleAccounts> {
    const copy = new AccountCopy(database);
    await copy.readInto(this.directory);
    this.#copies.push(copy);
    const moduleHook = definition.onMessageStaged;
    if (!owner) {
      return {
        onMessageStaged: moduleHook,
        committed: undefined,
        subscriptions: [this.#subscription(definition.name, copy)],
      };
    }
    const { type } = this.feed.message;
    return {
      onMessageStaged: async (tx, message) => {
        await moduleHook?.(tx, message);
        if (message.type === type) await copy.record(this.feed.stateOf(message.data));
      },
      committed: () => copy.readInto(this.directory),
      subscriptions: [],
    };
  }

  #subscription(module: string, copy: AccountCopy): Subscription {
    return {
      consumer: accountConsumerOf(module),
      handlers: [
        on(this.feed.message, async (message, ctx) => {
          const state = this.feed.stateOf(message.data);
          await ctx.transact(() => copy.record(state));
          this.directory.learn(state); // committed; a redelivery changes nothing
        }),
      ],
    };
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.#poll(), ACCOUNT_POLL_MS).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #poll(): Promise<void> {
    for (const copy of this.#copies) {
      try {
        await copy.readInto(this.directory);
      } catch (error) {
        // a busy or closing database: the next poll reads what this one missed
        this.log.warn({ err: error, module: copy.database.module }, 'account copy not read');
      }
    }
  }
}
