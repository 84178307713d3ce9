import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { BadMessageError, NewerSchemaVersionError } from './errors.js';
import { defineCommand, defineEvent, MessageTypes } from './message-types.js';

const priced = defineEvent({
  type: 'shop.item-priced',
  version: 2,
  schema: Type.Object({ sku: Type.String(), priceCents: Type.Integer() }),
  previous: {
    // v1 carried a decimal price in `price`
    1: {
      schema: Type.Object({ sku: Type.String(), price: Type.Number() }),
      upcast: (data) => ({
        sku: (data as { sku: string }).sku,
        priceCents: Math.round((data as { price: number }).price * 100),
      }),
    },
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
        previous: { 1: { schema: Type.Object({}), upcast: (d) => d } },
        schema: Type.Object({}),
        partitionKey: () => 'k',
      }),
    ).toThrow(/missing the schema of version 2/);
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
      'an older version invalid as that version',
      JSON.stringify(envelope({ schemaversion: 1, data: { sku: 'a', price: 'cheap' } })),
      /v2 schema violation: v1: \/price/,
    ],
  ])('rejects %s with a BadMessageError naming the reason', (_name, raw, reason) => {
    expect(() => types.decode(raw)).toThrow(BadMessageError);
    expect(() => types.decode(raw)).toThrow(reason);
  });

  it('reads a newer version as its own newest when the data validates as that (fields it does not know ignored)', () => {
    const data = { sku: 'a', priceCents: 100, currency: 'EUR' };
    const decoded = types.decode(JSON.stringify(envelope({ schemaversion: 3, data })));
    expect(decoded).toMatchObject({ schemaversion: 2, data });
  });

  it('raises NewerSchemaVersionError, not BadMessageError, for a newer version it cannot read', () => {
    const raw = JSON.stringify(envelope({ schemaversion: 3, data: { sku: 'a', price: { cents: 1 } } }));
    const error = (() => {
      try {
        types.decode(raw);
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(NewerSchemaVersionError);
    expect(error).not.toBeInstanceOf(BadMessageError);
    expect((error as NewerSchemaVersionError).message).toMatch(
      /shop.item-priced schema version 3 is newer than this build's 2 .*priceCents/,
    );
    expect((error as NewerSchemaVersionError).envelope).toMatchObject({ id: 'm1', partitionkey: 'a' });
  });

  it('dead-letters, never crashes on, an upcaster that throws', () => {
    const fragile = defineEvent({
      type: 'shop.fragile',
      version: 2,
      schema: Type.Object({ n: Type.Integer() }),
      previous: {
        1: {
          schema: Type.Object({}),
          upcast: () => {
            throw new Error('cannot');
          },
        },
      },
      partitionKey: () => 'k',
    });
    const local = new MessageTypes();
    local.register([fragile]);
    const raw = JSON.stringify(envelope({ type: 'shop.fragile', schemaversion: 1, data: {} }));
    expect(() => local.decode(raw)).toThrow(/upcasting v1 to v2 failed: cannot/);
  });
});
