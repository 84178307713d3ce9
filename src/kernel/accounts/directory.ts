/** A caller's role: admins may use the routes marked 🛡. */
export type Role = 'user' | 'admin';

/**
 * What a process needs to know of an account to take or refuse its tokens: the version its tokens
 * must carry at least (the owner bumps it when the password or the role changes, and on
 * deletion), the role that goes with it, and whether the account is gone.
 */
export interface AccountState {
  readonly userId: string;
  readonly role: Role;
  readonly tokenVersion: number;
  readonly deleted: boolean;
}

/** A token's standing against what this process knows of its account. */
export type TokenStanding = 'current' | 'outdated' | 'deleted';

/**
 * The accounts this process knows changed, in memory: the per-request check is one map lookup.
 * Fed from the module databases' copies (copies.ts) and never emptied while the process runs.
 * An account it has not heard of is taken on its token's own claims (docs/adr/0022 lists when
 * that happens and for how long).
 */
export class AccountDirectory {
  readonly #accounts = new Map<string, AccountState>();

  /**
   * Keeps the newer of what it knows and `state`. Versions only grow, so a late or repeated copy
   * (a redelivery, the poll reading what the consumer has just learned) changes nothing.
   */
  learn(state: AccountState): void {
    const known = this.#accounts.get(state.userId);
    if (known && known.tokenVersion >= state.tokenVersion) return;
    this.#accounts.set(state.userId, state);
  }

  get(userId: string): AccountState | undefined {
    return this.#accounts.get(userId);
  }

  /** How many accounts it knows (each changed at least once). */
  get size(): number {
    return this.#accounts.size;
  }

  /**
   * A token of `userId` issued at `tokenVersion`: `deleted` when its account is gone, `outdated`
   * when the account has a newer version, else `current` (also when the account is unknown here,
   * or its change has not arrived yet: a token newer than the copy is the owner's word).
   */
  standing(userId: string, tokenVersion: number): TokenStanding {
    const known = this.#accounts.get(userId);
    if (!known) return 'current';
    if (known.deleted) return 'deleted';
    return tokenVersion < known.tokenVersion ? 'outdated' : 'current';
  }
}
