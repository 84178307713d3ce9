/**
 * One value per running module: the function returned creates it on the first call for a module
 * context and returns that same value for it after. For what a module's handlers share while it
 * runs (a channel and its circuit breaker, a dispatcher): an app, or each of several apps a test
 * starts, gets its own, and it goes with the context.
 */
export function perModule<Context extends object, T>(create: (ctx: Context) => T): (ctx: Context) => T {
  const values = new WeakMap<Context, T>();
  return (ctx) => {
    if (values.has(ctx)) return values.get(ctx) as T;
    const value = create(ctx);
    values.set(ctx, value);
    return value;
  };
}
