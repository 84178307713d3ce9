import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { BadMessageError } from './errors.js';
import { defineCommand, defineEvent, MessageTypes } from './message-types.js';

const priced = defineEvent({
  type: 'shop.item-priced',
  version: 2,
  schema: Type.Object({ sku: Type.String(), priceCents: Type.Integer() }, { additionalProperties: false }),
  // v1 carried a decimal price in `price`
  upcasters: {
    1: (data) => ({
      sku: (data as { sku: string }).sku,
      priceCents: Math.round((data as { price: number }).price * 100),
    }),
  },
  partitionKey: (d) => d.sku,
});

function envelope(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: 'm1',
    source: 'shop',
    type: 'shop.item-priced',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    schemaversion: 2,
    correlationid: 'c1',
    causationid: null,
    partitionkey: 'a',
    data: { sku: 'a', priceCents: 100 },
    ...overrides,
  };
}

describe('message types', () => {
  const types = new MessageTypes();
  types.register([priced]);

  it('creates drafts with the newest version and the partition key', () => {
    expect(priced({ sku: 'x', priceCents: 5 })).toEqual({
      type: 'shop.item-priced',
      schemaversion: 2,
      partitionkey: 'x',
      data: { sku: 'x', priceCents: 5 },
    });
    expect(priced.kind).toBe('event');
    expect(priced.owner).toBe('shop');
  });

  it('rejects bad type names and missing upcasters when defining', () => {
    expect(() =>
      defineEvent({ type: 'Shop.ItemPriced', schema: Type.Object({}), partitionKey: () => 'k' }),
    ).toThrow(/kebab-case/);
    expect(() =>
      defineCommand({
        type: 'shop.do-it',
        version: 3,
        upcasters: { 1: (d) => d },
        schema: Type.Object({}),
        partitionKey: () => 'k',
      }),
    ).toThrow(/missing upcaster from version 2 to 3/);
  });

  it('refuses to register two definitions of one type', () => {
    const twin = defineEvent({ type: 'shop.item-priced', schema: Type.Object({}), partitionKey: () => 'k' });
    expect(() => types.register([twin])).toThrow(/declared twice/);
  });

  it('throws on an invalid draft (a bug in the publisher)', () => {
    expect(() =>
      types.assertValidDraft({
        type: 'shop.item-priced',
        schemaversion: 2,
        partitionkey: 'a',
        data: { sku: 1 },
      }),
    ).toThrow(/cannot stage shop.item-priced/);
    expect(() =>
      types.assertValidDraft({ type: 'shop.unknown', schemaversion: 1, partitionkey: 'a', data: {} }),
    ).toThrow(/not registered/);
  });

  it('upcasts an older version on receive', () => {
    const decoded = types.decode(
      JSON.stringify(envelope({ schemaversion: 1, data: { sku: 'a', price: 1.25 } })),
    );
    expect(decoded.schemaversion).toBe(2);
    expect(decoded.data).toEqual({ sku: 'a', priceCents: 125 });
  });

  it.each([
    ['not JSON', '{nope', /not JSON/],
    ['not an envelope', JSON.stringify({ hello: 'world' }), /not an envelope/],
    [
      'an unknown type',
      JSON.stringify(envelope({ type: 'shop.unknown' })),
      /unknown message type shop.unknown/,
    ],
    [
      'a schema violation',
      JSON.stringify(envelope({ data: { sku: 'a', priceCents: 'free' } })),
      /schema violation.*priceCents/,
    ],
    [
      'a newer version than this build',
      JSON.stringify(envelope({ schemaversion: 3 })),
      /newer than this build/,
    ],
  ])('rejects %s with a BadMessageError naming the reason', (_name, raw, reason) => {
    expect(() => types.decode(raw)).toThrow(BadMessageError);
    expect(() => types.decode(raw)).toThrow(reason);
  });
});
