import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { afterEach, describe, expect, it } from 'vitest';
import { withStatementCache } from './statement-cache.js';

const items = sqliteTable('items', { id: integer('id').primaryKey(), name: text('name').notNull() });

describe('withStatementCache', () => {
  const open: Database.Database[] = [];
  const database = () => {
    const sqlite = new Database(':memory:');
    sqlite.exec(
      "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL); INSERT INTO items VALUES (1, 'one')",
    );
    open.push(sqlite);
    return sqlite;
  };
  afterEach(() => {
    for (const sqlite of open.splice(0)) sqlite.close();
  });

  it('compiles a SQL text once, and hands the reused statement back in its default mode', () => {
    const client = withStatementCache(database());
    const first = client.prepare('SELECT id, name FROM items');
    expect(first.raw().get()).toEqual([1, 'one']);
    const again = client.prepare('SELECT id, name FROM items');
    expect(again).toBe(first);
    expect(again.get()).toEqual({ id: 1, name: 'one' });
    expect(client.prepare('SELECT name FROM items')).not.toBe(first);
    // statements that return no data have no raw mode to reset
    const insert = client.prepare('INSERT INTO items (name) VALUES (?)');
    expect(client.prepare('INSERT INTO items (name) VALUES (?)')).toBe(insert);
  });

  it('drops the least recently used statement past its capacity', () => {
    const client = withStatementCache(database(), 2);
    const a = client.prepare('SELECT 1');
    const b = client.prepare('SELECT 2');
    expect(client.prepare('SELECT 1')).toBe(a); // a is now the most recently used
    client.prepare('SELECT 3');
    expect(client.prepare('SELECT 1')).toBe(a);
    expect(client.prepare('SELECT 2')).not.toBe(b);
  });

  it('serves drizzle: mapped and unmapped queries of the same SQL text both read correctly', () => {
    const sqlite = database();
    const db = drizzle({ client: withStatementCache(sqlite) });
    const query = db.select({ id: items.id, name: items.name }).from(items);
    expect(query.all()).toEqual([{ id: 1, name: 'one' }]); // drizzle ran it in raw mode
    expect(db.all(sql.raw(query.toSQL().sql))).toEqual([{ id: 1, name: 'one' }]);
    expect(query.get()).toEqual({ id: 1, name: 'one' });
    db.transaction((tx) => {
      tx.insert(items).values({ id: 2, name: 'two' }).run();
    });
    expect(db.select().from(items).all()).toHaveLength(2);
  });
});
