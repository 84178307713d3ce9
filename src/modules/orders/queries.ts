import { and, asc, eq } from 'drizzle-orm';
import { type Db, keysetList, mapPage, type Page, type PageRequest } from '../../kernel/index.js';
import { type OrderStatus, ordersOrders, ordersTimeline, type PricedLineRow } from './schema.js';

export interface OrderView {
  readonly id: string;
  readonly userId: string;
  readonly status: OrderStatus;
  readonly items: PricedLineRow[];
  readonly totalCents: number;
  readonly reason?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface TimelineEntry {
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly time: string;
  readonly correlationid: string;
  readonly causationid: string | null;
}

type OrderRow = typeof ordersOrders.$inferSelect;

function toView(row: OrderRow): OrderView {
  return {
    id: row.id,
    userId: row.userId,
    status: row.status,
    items: row.items,
    totalCents: row.totalCents,
    ...(row.reason === null ? {} : { reason: row.reason }),
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

/** The order when it belongs to the user; another user's order is as absent as a missing one. */
/** Whether the order exists, whoever placed it. */
export async function orderExists(db: Db, orderId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: ordersOrders.id })
    .from(ordersOrders)
    .where(eq(ordersOrders.id, orderId));
  return row !== undefined;
}

export async function findOrder(db: Db, userId: string, orderId: string): Promise<OrderView | undefined> {
  const [row] = await db
    .select()
    .from(ordersOrders)
    .where(and(eq(ordersOrders.id, orderId), eq(ordersOrders.userId, userId)));
  return row ? toView(row) : undefined;
}

const newestFirst = keysetList('orders', ordersOrders, ['createdAt', 'id'], 'desc');

/** A page of the user's orders, newest first (index orders_orders_user). */
export async function listOrders(db: Db, userId: string, request: PageRequest): Promise<Page<OrderView>> {
  return mapPage(await newestFirst.page(db, eq(ordersOrders.userId, userId), request), toView);
}

/** The recorded messages of an order's flow, in causal order. */
export async function orderTimeline(db: Db, orderId: string): Promise<TimelineEntry[]> {
  const rows = await db
    .select()
    .from(ordersTimeline)
    .where(eq(ordersTimeline.orderId, orderId))
    .orderBy(asc(ordersTimeline.seq));
  return causalOrder(
    rows.map((row) => ({
      id: row.eventId,
      type: row.type,
      source: row.source,
      time: row.time,
      correlationid: row.correlationId,
      causationid: row.causationId,
    })),
  );
}

const byTime = (a: TimelineEntry, b: TimelineEntry) => a.time.localeCompare(b.time);

/**
 * A topological order by causation (a cause before every message it caused), ties broken by time
 * and then by the given order. A message whose cause is not in the list counts as a root.
 */
export function causalOrder(entries: readonly TimelineEntry[]): TimelineEntry[] {
  const ids = new Set(entries.map((e) => e.id));
  const children = new Map<string, TimelineEntry[]>();
  const ready: TimelineEntry[] = [];
  for (const entry of entries) {
    const cause = entry.causationid;
    if (cause === null || cause === entry.id || !ids.has(cause)) ready.push(entry);
    else children.set(cause, [...(children.get(cause) ?? []), entry]);
  }
  const ordered: TimelineEntry[] = [];
  while (ready.length > 0) {
    ready.sort(byTime); // stable: equal times keep their recorded order
    const next = ready.shift() as TimelineEntry;
    ordered.push(next);
    ready.push(...(children.get(next.id) ?? []));
  }
  // Only a causation cycle (never produced by the kernel) leaves entries behind: keep them, by time.
  const placed = new Set(ordered.map((e) => e.id));
  return [...ordered, ...entries.filter((e) => !placed.has(e.id)).sort(byTime)];
}
