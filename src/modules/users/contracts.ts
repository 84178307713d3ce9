import { Type } from 'typebox';
import { defineEvent } from '../../kernel/index.js';

/** Messages of the users module: data only, importable by any module. */

export const userRegistered = defineEvent({
  type: 'users.user-registered',
  description: 'A user account was created (also the admin seeded at start).',
  schema: Type.Object({
    userId: Type.String(),
    email: Type.String(),
    name: Type.String(),
    role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
  }),
  partitionKey: (d) => d.userId,
});

export const accountChanged = defineEvent({
  type: 'users.account-changed',
  description:
    "An account's token state changed: its password or role changed (tokenVersion bumped: tokens issued before are refused), or it was deleted. Carries the whole state (event-carried state transfer): every process keeps a copy of the newest tokenVersion per account.",
  schema: Type.Object({
    userId: Type.String(),
    role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
    /** The version tokens of the account must carry from now on; it only grows. */
    tokenVersion: Type.Integer({ minimum: 1 }),
    deleted: Type.Boolean(),
  }),
  partitionKey: (d) => d.userId,
});
