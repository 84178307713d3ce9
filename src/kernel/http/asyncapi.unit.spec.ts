import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { defineCommand, defineEvent } from '../messaging/message-types.js';
import { asyncApiProblems } from '../testing/asyncapi-schema.js';
import { type AsyncApiSource, buildAsyncApiDocument, serverOf } from './asyncapi.js';

const cakeBaked = defineEvent({
  type: 'bakery.cake-baked',
  description: 'A cake left the oven.',
  schema: Type.Object({ cakeId: Type.String(), layers: Type.Integer({ minimum: 1 }) }),
  version: 2,
  previous: {
    1: {
      schema: Type.Object({ cakeId: Type.String() }),
      upcast: (data) => ({ ...(data as object), layers: 1 }),
    },
  },
  partitionKey: (d) => d.cakeId,
});
const deliverCake = defineCommand({
  type: 'couriers.deliver-cake',
  schema: Type.Object({ cakeId: Type.String(), address: Type.String() }),
  partitionKey: (d) => d.cakeId,
});

const source = (overrides: Partial<AsyncApiSource> = {}): AsyncApiSource => ({
  info: { name: 'modulith', version: '9.8.7', description: 'A test build.' },
  config: {
    transport: 'memory',
    redisUrl: 'redis://127.0.0.1:6379',
    amqpUrls: ['amqp://guest:guest@127.0.0.1:5672'],
    busNamespace: 'modulith',
  },
  messages: [cakeBaked, deliverCake],
  publishers: [{ name: 'bakery', publishes: [cakeBaked.type, deliverCake.type] }],
  consumers: [{ name: 'couriers.dispatch', module: 'couriers', types: [deliverCake.type, cakeBaked.type] }],
  ...overrides,
});

describe('the AsyncAPI document', () => {
  it('is a valid AsyncAPI 3.0.0 document naming this build', () => {
    const document = buildAsyncApiDocument(source());
    expect(asyncApiProblems(document)).toEqual([]);
    expect(document.info).toMatchObject({ title: 'modulith', version: '9.8.7' });
  });

  it('gives every message type a channel at its type, with the envelope around the registered schema', () => {
    const document = buildAsyncApiDocument(source());
    expect(Object.keys(document.channels).sort()).toEqual(['bakery.cake-baked', 'couriers.deliver-cake']);
    expect(document.channels['bakery.cake-baked']).toMatchObject({ address: 'bakery.cake-baked' });
    const message = document.components.messages['bakery.cake-baked'];
    const properties = message?.payload.properties as Record<string, unknown>;
    expect(properties.data).toEqual(JSON.parse(JSON.stringify(cakeBaked.schema)));
    expect(properties.type).toEqual({ const: 'bakery.cake-baked' });
    expect(properties.schemaversion).toMatchObject({ const: 2 });
    expect(message).toMatchObject({
      'x-schemaversion': 2,
      'x-kind': 'event',
      summary: 'A cake left the oven.',
    });
    for (const attribute of [
      'specversion',
      'id',
      'source',
      'time',
      'correlationid',
      'causationid',
      'partitionkey',
    ]) {
      expect(message?.payload.required).toContain(attribute);
    }
  });

  it('lists every schema version of a message: the newest at its type, older ones at <type>.v<n>', () => {
    const document = buildAsyncApiDocument(source());
    const v1 = document.components.messages['bakery.cake-baked.v1'];
    expect(v1).toMatchObject({ 'x-schemaversion': 1, title: 'bakery.cake-baked v1' });
    const properties = v1?.payload.properties as Record<string, unknown>;
    expect(properties.data).toEqual({
      type: 'object',
      required: ['cakeId'],
      properties: { cakeId: { type: 'string' } },
    });
    expect(properties.schemaversion).toMatchObject({ const: 1 });
    expect(Object.keys(document.channels['bakery.cake-baked']?.messages as object)).toEqual([
      'bakery.cake-baked',
      'bakery.cake-baked.v1',
    ]);
    // a consumer receives both versions; the publisher sends the newest only
    expect(document.operations['receive.couriers.dispatch.bakery.cake-baked']?.messages).toEqual([
      { $ref: '#/channels/bakery.cake-baked/messages/bakery.cake-baked' },
      { $ref: '#/channels/bakery.cake-baked/messages/bakery.cake-baked.v1' },
    ]);
    expect(document.operations['send.bakery.bakery.cake-baked']?.messages).toEqual([
      { $ref: '#/channels/bakery.cake-baked/messages/bakery.cake-baked' },
    ]);
    expect(Object.keys(document.components.messages)).not.toContain('couriers.deliver-cake.v1');
    expect(asyncApiProblems(document)).toEqual([]);
  });

  it('has the publishing module send and every consumer receive', () => {
    const { operations } = buildAsyncApiDocument(source());
    expect(operations['send.bakery.bakery.cake-baked']).toMatchObject({
      action: 'send',
      channel: { $ref: '#/channels/bakery.cake-baked' },
      'x-module': 'bakery',
    });
    expect(operations['receive.couriers.dispatch.couriers.deliver-cake']).toMatchObject({
      action: 'receive',
      messages: [{ $ref: '#/channels/couriers.deliver-cake/messages/couriers.deliver-cake' }],
      'x-consumer': 'couriers.dispatch',
    });
    expect(Object.keys(operations)).toHaveLength(4);
  });

  it('names the broker of the configured transport without its credentials', () => {
    const config = {
      ...source().config,
      redisUrl: 'rediss://worker:s3cret-redis@cache.internal:6380/2',
      amqpUrls: ['amqps://app:s3cret-amqp@rabbit.internal:5671/shop'] as const,
    };
    const bullmq = serverOf({ ...config, transport: 'bullmq' });
    expect(bullmq).toMatchObject({ host: 'cache.internal:6380', protocol: 'rediss', pathname: '/2' });
    const rabbitmq = serverOf({ ...config, transport: 'rabbitmq' });
    expect(rabbitmq).toMatchObject({
      host: 'rabbit.internal:5671',
      protocol: 'amqps',
      protocolVersion: '0-9-1',
      pathname: '/shop',
    });
    const document = buildAsyncApiDocument(source({ config: { ...config, transport: 'rabbitmq' } }));
    expect(Object.keys(document.servers)).toEqual(['rabbitmq']);
    expect(asyncApiProblems(document)).toEqual([]);
    expect(JSON.stringify(document)).not.toMatch(/s3cret|worker|app:/);
  });

  it('is checked by a validator that refuses a broken document', () => {
    const document = buildAsyncApiDocument(source());
    const broken = {
      ...document,
      operations: { x: { action: 'publish', channel: { $ref: '#/channels/a' } } },
    };
    expect(asyncApiProblems(broken)).not.toEqual([]);
    expect(asyncApiProblems({ asyncapi: '3.0.0' })).toContain("/ must have required property 'info'");
  });
});
