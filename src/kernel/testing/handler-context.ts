import type { HandlerContext } from '../messaging/subscription.js';
import type { ModuleContext } from '../modules/module.js';

/**
 * A handler context that runs `transact` straight in the module's database, with no inbox: only
 * the handler's own guards stand between it and a repeat (as for a replayed dead letter, whose
 * inbox mark was cleared). For specs that deliver the same message twice to a handler.
 */
export function handlerContextWithoutInbox<Settings>(
  ctx: ModuleContext<Settings>,
  attempt = 1,
): HandlerContext<ModuleContext<Settings>> {
  return {
    transact: async (fn) => {
      await ctx.transact(fn);
      return true;
    },
    log: ctx.log,
    attempt,
    module: ctx,
  };
}
