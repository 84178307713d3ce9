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
