import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestKernel } from '../../kernel/testing/index.js';
import { type AccountEvent, emptyAccount, orderPaymentsAfter } from './account.js';
import { loadAccount, readStream } from './event-store.js';
import { paymentsModule } from './index.js';
import { findOrderPayment } from './order-payments.js';

const MIGRATIONS = fileURLToPath(new URL('../../../migrations/payments', import.meta.url));

const deposit = (amountCents: number): AccountEvent => ({ type: 'FundsDeposited', data: { amountCents } });
const charged = (orderId: string, amountCents: number): AccountEvent => ({
  type: 'PaymentCharged',
  data: { orderId, amountCents },
});

/** Streams written before migration 0001, each order in every state an order can end in. */
const STREAMS: Record<string, AccountEvent[]> = {
  u1: [
    deposit(100),
    charged('o1', 30),
    { type: 'PaymentFailed', data: { orderId: 'o2', amountCents: 200, reason: 'insufficient_funds' } },
    { type: 'PaymentRefunded', data: { orderId: 'o1', amountCents: 30 } },
    { type: 'OrderClosed', data: { orderId: 'o3' } },
    deposit(50),
    charged('o4', 50),
  ],
  u2: [deposit(10), { type: 'OrderClosed', data: { orderId: 'o1' } }, charged('o5', 10)],
};

describe('payments migration 0001 (order payments beside the stream)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'payments-0001-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("records each order's payment from the events already stored, as the pure fold of the stream", async () => {
    // A database as migration 0000 left it, with a snapshot in the old shape (every order inside).
    const [first] = readMigrationFiles({ migrationsFolder: MIGRATIONS });
    if (!first) throw new Error('no payments migrations');
    const old = new Database(join(dataDir, 'payments.db'));
    old.pragma('journal_mode = WAL');
    for (const statement of first.sql) if (statement.trim()) old.exec(statement);
    old.exec(
      'CREATE TABLE __migrations_payments (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)',
    );
    old
      .prepare('INSERT INTO __migrations_payments (hash, created_at) VALUES (?, ?)')
      .run(first.hash, first.folderMillis);
    const insert = old.prepare('INSERT INTO payments_events VALUES (?, ?, ?, ?, ?)');
    for (const [account, events] of Object.entries(STREAMS)) {
      for (const [i, event] of events.entries()) {
        insert.run(account, i + 1, event.type, JSON.stringify(event.data), 1000 + i);
      }
    }
    old
      .prepare('INSERT INTO payments_snapshots VALUES (?, ?, ?, ?, ?)')
      .run('u2', 2, 10, '[["o1",{"status":"closed","balanceCents":10}]]', 1001);
    old.close();

    const tk = await startTestKernel({ modules: [paymentsModule], dataDir });
    try {
      const { db } = tk.context('payments');
      for (const [account, events] of Object.entries(STREAMS)) {
        const expected = orderPaymentsAfter(emptyAccount(account), events);
        expect(expected.size).toBeGreaterThan(0);
        for (const [orderId, payment] of expected) {
          expect(await findOrderPayment(db, account, orderId), `${account}/${orderId}`).toEqual(payment);
        }
        expect(await readStream(db, account)).toHaveLength(events.length);
      }
      expect(await findOrderPayment(db, 'u1', 'o2')).toEqual({
        status: 'failed',
        amountCents: 200,
        reason: 'insufficient_funds',
        balanceCents: 70, // after the deposit of 100 and the charge of 30
      });
      // the old snapshot still loads (its orders column is gone)
      expect(await loadAccount(db, 'u2')).toEqual({ id: 'u2', balanceCents: 0, version: 3 });
    } finally {
      await tk.dispose();
    }
  });
});
