/**
 * The raw reference of the e2e rows: fastify 5 and better-sqlite3 alone. `POST /orders` validates
 * a body like the app's, then runs one transaction (an order row + an outbox-like row; WAL,
 * synchronous=NORMAL) and answers 202. No auth, no bus, no saga.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { reportFailure, serveParent } from './protocol.js';

try {
  const db = new Database(join(process.env.DATA_DIR ?? '.', 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, items TEXT NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, envelope TEXT NOT NULL,
      created_at INTEGER NOT NULL, published_at INTEGER)`);
  const insertOrder = db.prepare('INSERT INTO orders (id, items, created_at) VALUES (?, ?, ?)');
  const insertOutbox = db.prepare('INSERT INTO outbox (id, envelope, created_at) VALUES (?, ?, ?)');
  const place = db.transaction((items: unknown) => {
    const id = randomUUID();
    const now = Date.now();
    insertOrder.run(id, JSON.stringify(items), now);
    insertOutbox.run(randomUUID(), JSON.stringify({ type: 'orders.order-placed', data: { id, items } }), now);
    return id;
  });
  const app = Fastify({ logger: false });
  const item = {
    type: 'object',
    additionalProperties: false,
    required: ['sku', 'quantity'],
    properties: { sku: { type: 'string', minLength: 1 }, quantity: { type: 'integer', minimum: 1 } },
  };
  const body = {
    type: 'object',
    additionalProperties: false,
    required: ['items'],
    properties: { items: { type: 'array', minItems: 1, maxItems: 100, items: item } },
  };
  app.post('/orders', { schema: { body } }, async (request, reply) => {
    const id = place.immediate((request.body as { items: unknown }).items);
    return reply.status(202).send({ id, status: 'pending' });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  serveParent(async () => {
    await app.close();
    db.close();
  });
  process.send?.({
    type: 'ready',
    port: typeof address === 'object' && address ? address.port : 0,
    consumers: [],
  });
} catch (error) {
  reportFailure(error);
}
