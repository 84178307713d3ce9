import { expect } from 'vitest';
import { defineModule, type HttpApp, loadConfig, type ModuleContext } from '../../../kernel/index.js';
import { createHost } from '../../../kernel/testing/index.js';
import { orderConfirmed } from '../../orders/contracts.js';
import { createWebhooksModule, type DeliveryPolicy } from '../index.js';

/**
 * The webhooks module beside a stand-in orders module that publishes order-confirmed events, for
 * specs of delivery behaviour: quick retries, and restartable over the same data directory.
 */

const standInOrders = defineModule({ name: 'orders', messages: [orderConfirmed] });

/** Three attempts 50 ms apart, 500 ms timeout, polled every 25 ms. */
export const QUICK_DELIVERY: Partial<DeliveryPolicy> = {
  maxAttempts: 3,
  firstRetryDelayMs: 50,
  pollIntervalMs: 25,
  timeoutMs: 500,
};

export interface StandInOptions {
  readonly dataDir: string;
  readonly allowPrivate: boolean;
  readonly delivery?: Partial<DeliveryPolicy>;
  /** More of the module's settings, as environment variables (WEBHOOKS_IN_FLIGHT_PER_HOST…). */
  readonly settings?: Readonly<Record<string, string>>;
}

export interface DeliveryView {
  readonly id: string;
  readonly eventId: string;
  readonly status: string;
  readonly attempts: number;
  readonly responseStatus: number | null;
  readonly lastError: string | null;
}

export class StandInApp {
  private constructor(readonly http: HttpApp) {}

  static async start(options: StandInOptions): Promise<StandInApp> {
    const env = {
      DATA_DIR: options.dataDir,
      LOG_LEVEL: 'silent',
      WEBHOOKS_ALLOW_PRIVATE: options.allowPrivate ? '1' : '0',
      ...options.settings,
    };
    const webhooks = createWebhooksModule({ delivery: { ...QUICK_DELIVERY, ...options.delivery } });
    const config = loadConfig(env, ['webhooks', 'orders']);
    return new StandInApp(await createHost(config, { catalogue: [webhooks, standInOrders] }));
  }

  close(): Promise<void> {
    return this.http.close();
  }

  context(module: 'webhooks' | 'orders'): ModuleContext {
    const found = this.http.kernel.modules.find((m) => m.definition.name === module);
    if (!found) throw new Error(`${module} is not running`);
    return found.context;
  }

  #auth(sub: string) {
    return { authorization: `Bearer ${this.http.jwt.sign({ sub, role: 'user' })}` };
  }

  /** POST /webhooks for orders.order-confirmed (201 expected). */
  async subscribe(sub: string, url: string): Promise<{ id: string; secret: string }> {
    const payload = { url, events: ['orders.order-confirmed'] };
    const response = await this.http.inject({
      method: 'POST',
      url: '/webhooks',
      payload,
      headers: this.#auth(sub),
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json();
  }

  async deliveries(sub: string, id: string): Promise<DeliveryView[]> {
    const response = await this.http.inject({ url: `/webhooks/${id}/deliveries`, headers: this.#auth(sub) });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().items;
  }

  /** Stages an order-confirmed about this user, as the orders module would. */
  async publishConfirmed(userId: string): Promise<void> {
    await this.context('orders').transact((tx) => tx.stage(confirmedFor(userId)));
  }
}

export const confirmedFor = (userId: string) =>
  orderConfirmed({ orderId: `order-${Math.random().toString(36).slice(2)}`, userId, totalCents: 100 });
