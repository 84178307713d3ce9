import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import type { Envelope } from './envelope.js';
import { NonRetryableError } from './errors.js';
import { defineCommand, defineEvent, type MessageOf } from './message-types.js';
import { dispatcherOf, type HandlerContext, messagesOf, on, type Subscription } from './subscription.js';

const itemAdded = defineEvent({
  type: 'shop.item-added',
  schema: Type.Object({ sku: Type.String() }),
  partitionKey: (d) => d.sku,
});
/** Its data is a superset of item-added's: only the literal `type` tells the two apart. */
const itemRemoved = defineEvent({
  type: 'shop.item-removed',
  schema: Type.Object({ sku: Type.String(), reason: Type.String() }),
  partitionKey: (d) => d.sku,
});
const restock = defineCommand({
  type: 'shop.restock',
  schema: Type.Object({ sku: Type.String(), quantity: Type.Integer() }),
  partitionKey: (d) => d.sku,
});

const envelope = (type: string, data: unknown): Envelope => ({
  specversion: '1.0',
  id: `${type}-1`,
  source: 'shop',
  type,
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  schemaversion: 1,
  correlationid: 'c',
  causationid: null,
  partitionkey: 'k',
  data,
});

/** The handlers here never transact: a context that says so if one does. */
const ctx: HandlerContext = {
  transact: () => {
    throw new Error('not in this spec');
  },
  log: createLogger('silent'),
  attempt: 1,
  module: undefined,
};

describe('typed subscriptions', () => {
  it('sends each type to the handler it was paired with, typed without a cast', async () => {
    const seen: string[] = [];
    const onItemAdded = (message: MessageOf<typeof itemAdded>) => void seen.push(`added ${message.data.sku}`);
    const onRestock = (message: MessageOf<typeof restock>) =>
      void seen.push(`restock ${message.data.sku} ×${message.data.quantity}`);
    const subscription: Subscription = {
      consumer: 'shop.stock',
      handlers: [on(itemAdded, onItemAdded), on(restock, onRestock)],
    };
    const dispatch = dispatcherOf(subscription);
    await dispatch(envelope('shop.restock', { sku: 'mug', quantity: 3 }), ctx);
    await dispatch(envelope('shop.item-added', { sku: 'cup' }), ctx);
    expect(seen).toEqual(['restock mug ×3', 'added cup']);
    expect(messagesOf(subscription).map((m) => m.type)).toEqual(['shop.item-added', 'shop.restock']);
  });

  it('takes several messages handled alike, narrowed by their literal type', async () => {
    const reasons: string[] = [];
    const subscription: Subscription = {
      consumer: 'shop.audit',
      handlers: [
        on([itemAdded, itemRemoved], (message) => {
          reasons.push(message.type === 'shop.item-removed' ? message.data.reason : 'added');
        }),
      ],
    };
    const dispatch = dispatcherOf(subscription);
    await dispatch(envelope('shop.item-removed', { sku: 'mug', reason: 'broken' }), ctx);
    await dispatch(envelope('shop.item-added', { sku: 'mug' }), ctx);
    expect(reasons).toEqual(['broken', 'added']);
  });

  it('refuses two handlers for one type, and dead-letters a type it has no handler for', () => {
    const twice: Subscription = {
      consumer: 'shop.twice',
      handlers: [on(itemAdded, () => {}), on([itemAdded, restock], () => {})],
    };
    expect(() => dispatcherOf(twice)).toThrow('shop.twice: shop.item-added has two handlers');
    const dispatch = dispatcherOf({
      consumer: 'shop.pair',
      handlers: [on(itemAdded, () => {}), on(restock, () => {})],
    });
    expect(() => dispatch(envelope('shop.item-removed', {}), ctx)).toThrow(NonRetryableError);
  });

  it('does not compile a handler paired with a message it was not written for', () => {
    const onItemAdded = (_message: MessageOf<typeof itemAdded>) => {};
    // @ts-expect-error item-removed's data would fit, but its type is not shop.item-added
    on(itemRemoved, onItemAdded);
    // @ts-expect-error restock's data lacks nothing item-added needs, but it is another message
    on([itemAdded, restock], onItemAdded);
    expect(on(itemAdded, onItemAdded).messages).toEqual([itemAdded]);
  });
});
