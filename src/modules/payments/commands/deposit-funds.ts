import type { ModuleContext } from '../../../kernel/index.js';
import { decideDeposit } from '../account.js';
import { fundsDeposited } from '../contracts.js';
import { append, keepAccount, loadAccount } from '../event-store.js';

export interface DepositFundsInput {
  readonly userId: string;
  readonly amountCents: number;
}

/**
 * Appends FundsDeposited to the user's account and publishes payments.funds-deposited. On a
 * version conflict (another writer appended first) the kernel runs the transaction again, on the
 * new state (ConcurrencyConflictError is a write conflict).
 */
export async function depositFunds(
  ctx: ModuleContext,
  input: DepositFundsInput,
): Promise<{ balanceCents: number }> {
  const { db, next } = await ctx.transact(async (tx) => {
    const account = await loadAccount(tx.db, input.userId);
    const { account: next } = await append(tx.db, account, decideDeposit(account, input.amountCents));
    await tx.stage(fundsDeposited({ ...input, balanceCents: next.balanceCents }));
    return { db: tx.db, next };
  });
  keepAccount(db, next); // committed: transact has resolved
  return { balanceCents: next.balanceCents };
}
