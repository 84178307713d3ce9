import type { ModuleContext } from '../../../kernel/index.js';
import { decideDeposit } from '../account.js';
import { fundsDeposited } from '../contracts.js';
import { append, ConcurrencyConflictError, keepAccount, loadAccount } from '../event-store.js';

export interface DepositFundsInput {
  readonly userId: string;
  readonly amountCents: number;
}

const ATTEMPTS = 3;

/**
 * Appends FundsDeposited to the user's account and publishes payments.funds-deposited. On a
 * version conflict (another writer appended first) the command runs again on the new state.
 */
export async function depositFunds(
  ctx: ModuleContext,
  input: DepositFundsInput,
): Promise<{ balanceCents: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { db, next } = await ctx.transact(async (tx) => {
        const account = await loadAccount(tx.db, input.userId);
        const { account: next } = await append(tx.db, account, decideDeposit(account, input.amountCents));
        await tx.stage(fundsDeposited({ ...input, balanceCents: next.balanceCents }));
        return { db: tx.db, next };
      });
      keepAccount(db, next); // committed: transact has resolved
      return { balanceCents: next.balanceCents };
    } catch (error) {
      if (!(error instanceof ConcurrencyConflictError) || attempt >= ATTEMPTS) throw error;
    }
  }
}
