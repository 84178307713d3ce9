import type { Awaitable } from './awaitable.js';

/** Values bound to a statement: positional for `?` placeholders, or one object for `@name` ones. */
export type Bindings = unknown[] | Record<string, unknown>;

type Arguments<Params extends Bindings> = Params extends unknown[] ? Params : [Params];

/**
 * A SQL statement of the kernel's, on either backend: written once in the SQL both SQLite and
 * PostgreSQL accept, with `?` or `@name` placeholders. Each call runs on the connection the calling
 * code should use: inside a transaction of the database, on that transaction's (it sees its own
 * writes); outside, on one that sees committed rows only.
 *
 * A call gives its result as an `Awaitable`: on SQLite the value itself, the statement having run
 * (a failure throws at the call), on PostgreSQL a promise. `await` it, or chain with `andThen`
 * (persistence/awaitable.ts) where a message's path runs it: a promise per statement, under the
 * process's async hooks, was a visible share of a message's CPU on SQLite (scripts/bench/findings.md).
 */
export interface Statement<Params extends Bindings = unknown[], Row = unknown> {
  /** The first row, or undefined. */
  get(...params: Arguments<Params>): Awaitable<Row | undefined>;
  all(...params: Arguments<Params>): Awaitable<Row[]>;
  /** How many rows it changed. */
  run(...params: Arguments<Params>): Awaitable<number>;
}

export interface StatementOptions {
  /** Rows are the value of their first column (`SELECT COUNT(*) …`). */
  readonly pluck?: boolean;
}

/** A statement's text for PostgreSQL: `$n` placeholders, and the names they take their values from. */
export interface NumberedStatement {
  readonly text: string;
  /** For `@name` placeholders: the binding object's keys, in `$n` order (`$1` is `names[0]`). */
  readonly names: readonly string[] | undefined;
}

/**
 * Numbers the placeholders of a kernel statement for PostgreSQL: each `?` in turn, or each distinct
 * `@name` (a name used twice is one parameter). The kernel's statements hold no `?` or `@` in
 * literals, which this does not parse.
 */
export function numberPlaceholders(text: string): NumberedStatement {
  if (/@[A-Za-z_]/.test(text)) {
    const names: string[] = [];
    const numbered = text.replaceAll(/@([A-Za-z_]\w*)/g, (_match, name: string) => {
      let index = names.indexOf(name);
      if (index < 0) index = names.push(name) - 1;
      return `$${index + 1}`;
    });
    return { text: numbered, names };
  }
  let count = 0;
  return { text: text.replaceAll('?', () => `$${++count}`), names: undefined };
}

/** The values of `params` in the order of a numbered statement's parameters. */
export function orderedValues(statement: NumberedStatement, params: readonly unknown[]): unknown[] {
  if (statement.names === undefined) return [...params];
  const named = (params[0] ?? {}) as Record<string, unknown>;
  return statement.names.map((name) => named[name]);
}
