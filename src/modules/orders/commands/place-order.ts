import { createHash, randomUUID } from 'node:crypto';
import { and, desc, eq, gt, sql } from 'drizzle-orm';
import { type Db, HttpProblem, type ModuleContext, preparedOnce, type Tx } from '../../../kernel/index.js';
import { orderPlaced } from '../contracts.js';
import { ordersCatalogue, ordersOrders, type PricedLineRow } from '../schema.js';
import type { OrdersSettings } from '../settings.js';

export interface OrderLineInput {
  readonly sku: string;
  readonly quantity: number;
}

export interface PlaceOrderInput {
  readonly userId: string;
  readonly items: readonly OrderLineInput[];
  readonly idempotencyKey?: string | undefined;
}

export interface PlacedOrder {
  readonly id: string;
  readonly status: 'pending';
  readonly totalCents: number;
  /** True when an earlier request with the same Idempotency-Key placed this order. */
  readonly replayed: boolean;
}

/** The most units of one sku an order may hold (one line, or the lines of that sku added up). */
export const MAX_LINE_QUANTITY = 1000;
/** The most lines an order may have. */
export const MAX_LINES = 100;

/**
 * Lines of the same sku are merged into one (first position kept). The merged quantity obeys the
 * per-line limit too (a 400 naming the sku): otherwise 100 lines of 1000 would make one of 100000.
 */
export function mergeLines(items: readonly OrderLineInput[]): OrderLineInput[] {
  const merged = new Map<string, number>();
  for (const { sku, quantity } of items) merged.set(sku, (merged.get(sku) ?? 0) + quantity);
  const over = [...merged].filter(([, quantity]) => quantity > MAX_LINE_QUANTITY);
  if (over.length > 0) {
    const named = over.map(([sku, quantity]) => `${sku} (${quantity})`).join(', ');
    throw new HttpProblem(
      400,
      'ORDERS_QUANTITY_OVER_LIMIT',
      `the lines of a sku add up to more than ${MAX_LINE_QUANTITY} units: ${named}`,
    );
  }
  return [...merged].map(([sku, quantity]) => ({ sku, quantity }));
}

function fingerprint(lines: readonly OrderLineInput[]): string {
  const canonical = [...lines].sort((a, b) => a.sku.localeCompare(b.sku));
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
}

const catalogueEntry = (db: Db) =>
  db
    .select({ sku: ordersCatalogue.sku, priceCents: ordersCatalogue.priceCents })
    .from(ordersCatalogue)
    .where(eq(ordersCatalogue.sku, sql.placeholder('sku')));

const insertOrder = (db: Db) =>
  db.insert(ordersOrders).values({
    id: sql.placeholder('id'),
    userId: sql.placeholder('userId'),
    status: 'pending',
    items: sql.placeholder('items'),
    totalCents: sql.placeholder('totalCents'),
    idempotencyKey: sql.placeholder('idempotencyKey'),
    requestHash: sql.placeholder('requestHash'),
    createdAt: sql.placeholder('now'),
    updatedAt: sql.placeholder('now'),
  });

/** The per-user placement limit counts the orders placed in the last minute (a sliding window). */
export const PLACEMENT_WINDOW_MS = 60_000;

/** The `skip + 1`-th newest order of the user placed after `since` (index orders_orders_user). */
const newestPlacedSince = (db: Db) =>
  db
    .select({ createdAt: ordersOrders.createdAt })
    .from(ordersOrders)
    .where(
      and(
        eq(ordersOrders.userId, sql.placeholder('userId')),
        gt(ordersOrders.createdAt, sql.placeholder('since')),
      ),
    )
    .orderBy(desc(ordersOrders.createdAt))
    .limit(1)
    .offset(sql.placeholder('skip'));

/**
 * 429 ORDERS_RATE_LIMITED when the user placed `max` orders in the last minute; `retry-after` is
 * when the oldest of those leaves the window. Counted in the placing transaction (BEGIN IMMEDIATE:
 * concurrent requests, and instances sharing the database, cannot slip past it together), and
 * only orders placed count: a replay, or a request refused for an unknown sku, wrote nothing.
 */
async function checkPlacementLimit(tx: Tx, userId: string, max: number, now: number): Promise<void> {
  const oldestCounted = await preparedOnce(tx.db, newestPlacedSince).one({
    userId,
    since: now - PLACEMENT_WINDOW_MS,
    skip: max - 1,
  });
  if (!oldestCounted) return;
  const retryAfterSeconds = Math.max(
    1,
    Math.ceil((oldestCounted.createdAt + PLACEMENT_WINDOW_MS - now) / 1000),
  );
  throw new HttpProblem(
    429,
    'ORDERS_RATE_LIMITED',
    `at most ${max} orders per user per minute; the next one can be placed in ${retryAfterSeconds} s`,
    { retryAfterSeconds },
  );
}

/** Prices every line from the local catalogue (one prepared lookup per line); an unknown sku is a 400 naming it. */
async function priceLines(tx: Tx, lines: readonly OrderLineInput[]): Promise<PricedLineRow[]> {
  const skus = lines.map((line) => line.sku);
  const lookup = preparedOnce(tx.db, catalogueEntry);
  const prices = new Map<string, number>();
  for (const sku of skus) {
    const row = await lookup.one({ sku });
    if (row) prices.set(row.sku, row.priceCents);
  }
  const unknown = skus.filter((sku) => !prices.has(sku));
  if (unknown.length > 0) {
    throw new HttpProblem(400, 'ORDERS_UNKNOWN_SKU', `unknown sku: ${unknown.join(', ')}`);
  }
  return lines.map((line) => ({ ...line, priceCents: prices.get(line.sku) ?? 0 }));
}

async function replay(tx: Tx, userId: string, key: string, hash: string): Promise<PlacedOrder | undefined> {
  const [earlier] = await tx.db
    .select()
    .from(ordersOrders)
    .where(and(eq(ordersOrders.userId, userId), eq(ordersOrders.idempotencyKey, key)))
    .limit(1);
  if (!earlier) return undefined;
  if (earlier.requestHash !== hash) {
    throw new HttpProblem(
      422,
      'ORDERS_IDEMPOTENCY_KEY_REUSED',
      'this Idempotency-Key was used for a different order',
    );
  }
  return { id: earlier.id, status: 'pending', totalCents: earlier.totalCents, replayed: true };
}

/**
 * Places an order: prices it from the local catalogue, stores it `pending` and stages
 * `orders.order-placed` (which starts the checkout saga), all in one transaction. With an
 * Idempotency-Key, the same user and key answer the first order again and write nothing. A user
 * places at most `ordersPerUserPerMinute` orders a minute.
 */
export async function placeOrder(
  ctx: ModuleContext<OrdersSettings>,
  input: PlaceOrderInput,
): Promise<PlacedOrder> {
  const lines = mergeLines(input.items);
  const hash = fingerprint(lines);
  const key = input.idempotencyKey;
  return await ctx.transact(async (tx) => {
    const earlier = key === undefined ? undefined : await replay(tx, input.userId, key, hash);
    if (earlier) return earlier;
    const items = await priceLines(tx, lines);
    const now = Date.now();
    await checkPlacementLimit(tx, input.userId, ctx.settings.ordersPerUserPerMinute, now);
    const totalCents = items.reduce((sum, line) => sum + line.priceCents * line.quantity, 0);
    const id = randomUUID();
    await preparedOnce(tx.db, insertOrder).exec({
      id,
      userId: input.userId,
      items,
      totalCents,
      idempotencyKey: key ?? null,
      requestHash: key === undefined ? null : hash,
      now,
    });
    await tx.stage(orderPlaced({ orderId: id, userId: input.userId, totalCents, items }));
    return { id, status: 'pending', totalCents, replayed: false };
  });
}
