import type { Static } from 'typebox';
import {
  defineModule,
  type Envelope,
  type HandlerContext,
  isMessage,
  type ModuleDefinition,
  on,
  type Tx,
} from '../../../kernel/index.js';
import {
  type OrderLine,
  outOfStock,
  productCreated,
  productUpdated,
  releaseStock,
  reserveStock,
  stockReleased,
  stockReserved,
} from '../../inventory/contracts.js';
import {
  chargePayment,
  fundsDeposited,
  paymentCompleted,
  paymentFailed,
  paymentRefunded,
  refundPayment,
} from '../../payments/contracts.js';

/**
 * Test stand-ins for payments and inventory that answer the checkout saga per the contracts,
 * with their state in memory. `silent` commands are dropped (no effect, no reply: a peer that is
 * down); `lostReplies` take effect but send no reply (the reply is lost).
 */
export type PeerCommand = 'charge-payment' | 'refund-payment' | 'reserve-stock' | 'release-stock';

export interface PeerWorld {
  readonly balances: Map<string, number>;
  readonly stock: Map<string, number>;
  readonly charges: Map<string, number>;
  readonly reservations: Map<string, Static<typeof OrderLine>[]>;
  /** `payment:<orderId>` / `stock:<orderId>` told to undo: a later charge or reservation is refused. */
  readonly undone: Set<string>;
  readonly silent: Set<PeerCommand>;
  readonly lostReplies: Set<PeerCommand>;
  /** How many charges took effect (an idempotent repeat is not one). */
  chargesApplied: number;
}

export function createPeerWorld(
  balances: Record<string, number> = {},
  stock: Record<string, number> = {},
): PeerWorld {
  return {
    balances: new Map(Object.entries(balances)),
    stock: new Map(Object.entries(stock)),
    charges: new Map(),
    reservations: new Map(),
    undone: new Set(),
    silent: new Set(),
    lostReplies: new Set(),
    chargesApplied: 0,
  };
}

type Reply = (tx: Tx) => void;

async function answer(
  world: PeerWorld,
  command: PeerCommand,
  ctx: HandlerContext,
  apply: () => Reply,
): Promise<void> {
  if (world.silent.has(command)) return;
  await ctx.transact((tx) => {
    const reply = apply();
    if (!world.lostReplies.has(command)) reply(tx);
  });
}

async function onPayments(world: PeerWorld, message: Envelope, ctx: HandlerContext): Promise<void> {
  if (isMessage(chargePayment, message)) {
    const { orderId, userId, amountCents } = message.data;
    await answer(world, 'charge-payment', ctx, () => {
      const balance = world.balances.get(userId) ?? 0;
      const fresh = !world.charges.has(orderId) && !world.undone.has(`payment:${orderId}`);
      if (fresh && balance >= amountCents) {
        world.balances.set(userId, balance - amountCents);
        world.charges.set(orderId, amountCents);
        world.chargesApplied++;
      }
      if (!world.charges.has(orderId)) {
        const failed = paymentFailed({ orderId, userId, amountCents, reason: 'insufficient_funds' });
        return (tx) => tx.stage(failed);
      }
      const balanceCents = world.balances.get(userId) ?? 0;
      return (tx) => tx.stage(paymentCompleted({ orderId, userId, amountCents, balanceCents }));
    });
  } else if (isMessage(refundPayment, message)) {
    const { orderId, userId } = message.data;
    await answer(world, 'refund-payment', ctx, () => {
      const amountCents = world.undone.has(`payment:${orderId}`) ? 0 : (world.charges.get(orderId) ?? 0);
      world.undone.add(`payment:${orderId}`);
      const balanceCents = (world.balances.get(userId) ?? 0) + amountCents;
      world.balances.set(userId, balanceCents);
      return (tx) => tx.stage(paymentRefunded({ orderId, userId, amountCents, balanceCents }));
    });
  }
}

async function onInventory(world: PeerWorld, message: Envelope, ctx: HandlerContext): Promise<void> {
  if (isMessage(reserveStock, message)) {
    const { orderId, userId, items } = message.data;
    await answer(world, 'reserve-stock', ctx, () => {
      const short = items.filter((l) => (world.stock.get(l.sku) ?? 0) < l.quantity).map((l) => l.sku);
      if (world.undone.has(`stock:${orderId}`) || short.length > 0) {
        return (tx) => tx.stage(outOfStock({ orderId, userId, skus: short }));
      }
      for (const l of items) world.stock.set(l.sku, (world.stock.get(l.sku) ?? 0) - l.quantity);
      world.reservations.set(orderId, items);
      return (tx) => tx.stage(stockReserved({ orderId, userId, items }));
    });
  } else if (isMessage(releaseStock, message)) {
    const { orderId, userId } = message.data;
    await answer(world, 'release-stock', ctx, () => {
      const items = world.undone.has(`stock:${orderId}`) ? [] : (world.reservations.get(orderId) ?? []);
      world.undone.add(`stock:${orderId}`);
      for (const l of items) world.stock.set(l.sku, (world.stock.get(l.sku) ?? 0) + l.quantity);
      return (tx) => tx.stage(stockReleased({ orderId, userId, items }));
    });
  }
}

/** The fake `payments` and `inventory` modules over one world. */
export function fakePeers(world: PeerWorld): ModuleDefinition[] {
  return [
    defineModule({
      name: 'payments',
      messages: [
        chargePayment,
        refundPayment,
        fundsDeposited,
        paymentCompleted,
        paymentFailed,
        paymentRefunded,
      ],
      subscriptions: [
        {
          consumer: 'payments.fake',

          handlers: [on([chargePayment, refundPayment], (m, c) => onPayments(world, m, c))],
        },
      ],
    }),
    defineModule({
      name: 'inventory',
      messages: [
        productCreated,
        productUpdated,
        reserveStock,
        releaseStock,
        stockReserved,
        outOfStock,
        stockReleased,
      ],
      subscriptions: [
        {
          consumer: 'inventory.fake',

          handlers: [on([reserveStock, releaseStock], (m, c) => onInventory(world, m, c))],
        },
      ],
    }),
  ];
}
