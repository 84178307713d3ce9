/**
 * Tracing across processes, on RabbitMQ: the gateway, orders, payments and inventory each in a
 * process of their own, each exporting its spans over OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT) to a
 * collector this spec serves. One `POST /orders` through the gateway with a caller's
 * `traceparent` is one trace across the four processes: the gateway's request span, the orders
 * process's under it, and every handler of the checkout, each the child of the handler whose work
 * staged its message, whichever process ran it. The inventory process exports only when its
 * batch processor is flushed: its spans arrive when it is stopped gracefully (SIGTERM).
 *
 * Skipped with a printed reason when a broker does not answer; a failure with REQUIRE_BROKERS=1.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupNamespace, deleteRedisPrefix } from '../../scripts/bench/lib/brokers.js';
import { moduleCatalogue } from '../../src/app.js';
import { catalogueTopology } from '../../src/kernel/modules/topology.js';
import { amqpSkipReason, redisSkipReason } from '../../src/kernel/testing/index.js';
import { signJwt } from '../e2e/harness.js';
import { Api, until } from './api.js';
import { deploymentEnv, freePorts, killGroup, type Proc, startApp, waitForOk } from './cluster.js';

const JWT_SECRET = 'split-tracing-secret-0123456789abcdef0123456789';
const READY_TIMEOUT_MS = 60_000;
const requireBrokers = process.env.REQUIRE_BROKERS === '1';

/** A span as the OTLP/HTTP JSON exporter sends it, with the modules of the process that sent it. */
interface ExportedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly startNs: bigint;
  readonly attributes: Record<string, unknown>;
  readonly modules: string;
}

interface OtlpAttribute {
  readonly key: string;
  readonly value: { stringValue?: string; intValue?: string | number; boolValue?: boolean };
}
interface OtlpExport {
  readonly resourceSpans?: readonly {
    readonly resource?: { readonly attributes?: readonly OtlpAttribute[] };
    readonly scopeSpans?: readonly {
      readonly spans?: readonly {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        startTimeUnixNano: string;
        attributes?: readonly OtlpAttribute[];
      }[];
    }[];
  }[];
}

const attributesOf = (list: readonly OtlpAttribute[] = []): Record<string, unknown> =>
  Object.fromEntries(
    list.map(({ key, value }) => [key, value.stringValue ?? value.intValue ?? value.boolValue]),
  );

/** A tiny OTLP/HTTP collector: keeps every span POSTed to /v1/traces (JSON). */
class Collector {
  readonly spans: ExportedSpan[] = [];
  readonly #server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/v1/traces') this.#take(Buffer.concat(chunks));
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #take(body: Buffer): void {
    const payload = JSON.parse(body.toString('utf8')) as OtlpExport;
    for (const { resource, scopeSpans = [] } of payload.resourceSpans ?? []) {
      const modules = String(attributesOf(resource?.attributes)['modulith.modules']);
      for (const { spans = [] } of scopeSpans) {
        for (const span of spans) {
          this.spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            startNs: BigInt(span.startTimeUnixNano),
            attributes: attributesOf(span.attributes),
            modules,
          });
        }
      }
    }
  }
}

/** The checkout's handlers in causal order, and the process (its modules) each runs in. */
const CHECKOUT_CHAIN = [
  { type: 'orders.order-placed', group: 'orders.checkout-saga', modules: 'orders' },
  { type: 'payments.charge-payment', group: 'payments.account-commands', modules: 'payments' },
  { type: 'payments.payment-completed', group: 'orders.checkout-saga', modules: 'orders' },
  { type: 'inventory.reserve-stock', group: 'inventory.reservations', modules: 'inventory' },
  { type: 'inventory.stock-reserved', group: 'orders.checkout-saga', modules: 'orders' },
] as const;

const redisSkip = await redisSkipReason();
const skip = redisSkip ? `Redis: ${redisSkip}` : await amqpSkipReason();
if (skip && !requireBrokers) console.warn(`[split tracing] skipped: ${skip}`);

describe.skipIf(skip !== undefined && !requireBrokers)('tracing across processes on rabbitmq', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'split-tracing-'));
  const namespace = `tracing-${randomBytes(4).toString('hex')}`;
  const collector = new Collector();
  const processes: Record<string, Proc> = {};
  const apis: Record<string, Api> = {};

  beforeAll(async () => {
    if (skip) return;
    const endpoint = await collector.start();
    const ports = await freePorts(4);
    await Promise.all(
      ['gateway', 'orders', 'payments', 'inventory'].map(async (modules, i) => {
        const port = ports[i] ?? 0;
        const proc = startApp(modules, {
          ...deploymentEnv({
            transport: 'rabbitmq',
            dataDir,
            namespace,
            jwtSecret: JWT_SECRET,
            admin: { email: 'admin@split-tracing.test', password: 'split-tracing-admin' },
          }),
          MODULES: modules,
          PORT: String(port),
          OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
          // within 100 ms, not the default 5 s; inventory's only at its shutdown (flushed then)
          OTEL_BSP_SCHEDULE_DELAY: modules === 'inventory' ? '600000' : '100',
        });
        processes[modules] = proc;
        await waitForOk(`http://127.0.0.1:${port}/health/ready`, READY_TIMEOUT_MS, proc);
        apis[modules] = new Api(`http://127.0.0.1:${port}`);
      }),
    );
  }, READY_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    for (const proc of Object.values(processes)) await killGroup(proc);
    await collector.close();
    rmSync(dataDir, { recursive: true, force: true });
    const consumers = catalogueTopology(moduleCatalogue).map((consumer) => consumer.name);
    await cleanupNamespace('rabbitmq', namespace, consumers);
    await deleteRedisPrefix(namespace); // the service registry's index (the killed processes left it)
  });

  it("makes one trace of a checkout across the processes, continuing the caller's traceparent; a stop flushes the spans", async () => {
    if (skip) throw new Error(`split tracing cannot run: ${skip}`);
    const { gateway, payments, inventory } = apis as Record<'gateway' | 'payments' | 'inventory', Api>;
    const exp = Math.floor(Date.now() / 1000) + 600;
    const admin = signJwt({ sub: 'admin', role: 'admin', exp }, JWT_SECRET);
    const ann = signJwt({ sub: `ann-${randomBytes(3).toString('hex')}`, role: 'user', exp }, JWT_SECRET);
    const sku = `TRACE-${randomBytes(3).toString('hex')}`;
    await inventory.createProduct(admin, sku, 1250, 5);
    await payments.deposit(ann, 5000);

    // the gateway proxies /orders once the orders process is in the service registry
    await until(
      async () => (await gateway.call('GET', '/orders', { token: ann })).status,
      (status) => status === 200,
      20_000,
    );

    const callerTrace = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const order = await gateway.placeOrder(ann, [{ sku, quantity: 2 }], {
      traceparent: `00-${callerTrace}-${callerSpan}-01`,
    });
    const outcome = (await gateway.waitForTerminal(ann, [order.id], 20_000)).get(order.id);
    expect(outcome).toMatchObject({ status: 'confirmed' });

    const inTrace = () => collector.spans.filter((span) => span.traceId === callerTrace);
    const handlerOf = (type: string, group: string) =>
      inTrace().find(
        (span) =>
          span.name === `process ${type}` && span.attributes['messaging.consumer.group.name'] === group,
      );
    const exportedAtOnce = CHECKOUT_CHAIN.filter(({ modules }) => modules !== 'inventory');
    await until(
      async () => exportedAtOnce.map(({ type, group }) => handlerOf(type, group)),
      (found) => found.every(Boolean),
      15_000,
    );
    // the inventory process has exported nothing yet (its batch waits 10 min) until it stops
    expect(inTrace().filter((span) => span.modules === 'inventory')).toEqual([]);
    const stopping = processes.inventory as Proc;
    stopping.child.kill('SIGTERM');
    expect(await stopping.exited).toMatchObject({ code: 0 });
    expect(handlerOf('inventory.reserve-stock', 'inventory.reservations')).toBeDefined();

    // the POST /orders that placed it, in each process (ORDERS_UNKNOWN_SKU answers may precede
    // it in the same trace): the orders process's is the child of the gateway's, which is the caller's
    const placing = (modules: string) =>
      inTrace().filter(
        (span) =>
          span.name === 'POST /orders' &&
          span.modules === modules &&
          span.attributes['http.response.status_code'] === 202,
      );
    await until(
      async () => placing('gateway'),
      (found) => found.length > 0,
      5_000,
    );
    expect(placing('gateway')).toHaveLength(1);
    expect(placing('orders')).toHaveLength(1);
    const [edge] = placing('gateway') as [ExportedSpan];
    const [request] = placing('orders') as [ExportedSpan];
    expect(edge.parentSpanId).toBe(callerSpan);
    expect(request.parentSpanId).toBe(edge.spanId);

    const chain = CHECKOUT_CHAIN.map(({ type, group }) => handlerOf(type, group) as ExportedSpan);
    expect(chain.map((span) => span.modules)).toEqual(CHECKOUT_CHAIN.map(({ modules }) => modules));
    expect(chain.map((span) => span.parentSpanId)).toEqual([
      request.spanId,
      ...chain.slice(0, -1).map((span) => span.spanId),
    ]);
    const starts = [edge, request, ...chain].map((span) => span.startNs);
    expect(starts).toEqual([...starts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(chain[1]?.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'payments.charge-payment',
    });
    // the orders process's relay published the charge command in the saga handler's trace
    const send = inTrace().find((span) => span.name === 'send payments.charge-payment');
    expect(send).toMatchObject({ parentSpanId: chain[0]?.spanId, modules: 'orders' });
  });
});
