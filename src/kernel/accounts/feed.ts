import type { Static, TSchema } from 'typebox';
import type { AnyMessageDefinition, MessageDefinition } from '../messaging/message-types.js';
import type { ConsumerTopology } from '../messaging/transport.js';
import type { AccountState } from './directory.js';

/**
 * The event a module that owns accounts publishes whenever an account's token state changes
 * (`ModuleDefinition.accounts`), and how to read that state from its data. The kernel knows no
 * module: it learns which event carries accounts from the definition that declares it.
 */
export interface AccountFeed {
  readonly message: AnyMessageDefinition;
  /** The state an event of `message` carries (its data, decoded and validated against its schema). */
  readonly stateOf: (data: unknown) => AccountState;
}

/** Declares `message` as the account feed, its data read by `stateOf`. */
export function accountFeed<S extends TSchema, T extends string>(
  message: MessageDefinition<S, T>,
  stateOf: (data: Static<S>) => AccountState,
): AccountFeed {
  // Sound: the kernel calls stateOf only with the data of an envelope of `message`, decoded and
  // validated against its schema (a delivery), or staged through it (the owner's own copy).
  return { message, stateOf: (data) => stateOf(data as Static<S>) };
}

/** What `accountFeedOf` needs of a module definition (module.ts imports this file, not the reverse). */
interface DeclaresAccounts {
  readonly name: string;
  readonly accounts?: AccountFeed | undefined;
}

/** The catalogue's account feed and its owner, if a module declares one; two are a mistake. */
export function accountFeedOf(
  catalogue: readonly DeclaresAccounts[],
): { readonly owner: string; readonly feed: AccountFeed } | undefined {
  const owners = catalogue.filter((definition) => definition.accounts !== undefined);
  if (owners.length > 1) {
    throw new Error(`modules ${owners.map((o) => o.name).join(' and ')} both declare accounts`);
  }
  const [owner] = owners;
  return owner?.accounts && { owner: owner.name, feed: owner.accounts };
}

/** The consumer through which `module` keeps its copy of the accounts. Never rename it. */
export const accountConsumerOf = (module: string): string => `${module}.account-versions`;

/**
 * The account consumers of the catalogue: one per module but the owner (which writes its copy in
 * the transaction that stages the event), provisioned by every process like any other consumer,
 * so a change published before a module's first start waits for it.
 */
export function accountTopology(catalogue: readonly DeclaresAccounts[]): ConsumerTopology[] {
  const declared = accountFeedOf(catalogue);
  if (!declared) return [];
  const types = [declared.feed.message.type];
  return catalogue
    .filter((definition) => definition.name !== declared.owner)
    .map((definition) => ({
      name: accountConsumerOf(definition.name),
      module: definition.name,
      handles: types,
      types,
    }));
}
