import { type Static, type TSchema, Type } from 'typebox';
import { Compile } from 'typebox/compile';
import type { Envelope, MessageDraft } from './envelope.js';
import { BadMessageError, NewerSchemaVersionError } from './errors.js';
import {
  describeErrors,
  type PreviousVersion,
  problemsOf,
  readVersion,
  type SchemaVersions,
  schemaVersions,
  type Upcaster,
} from './schema-versions.js';

const TYPE_NAME = /^[a-z][a-z0-9]*\.[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export type MessageKind = 'event' | 'command';

export type { PreviousVersion, Upcaster };

export interface MessageSpec<S extends TSchema, T extends string> {
  /** `<module>.<kebab-case>`; the owning module is the part before the dot. */
  readonly type: T;
  readonly schema: S;
  /** The newest schema version (default 1). Consumers always see this one. */
  readonly version?: number;
  /**
   * Every earlier version n (1 … version - 1): the schema it was published with, and the upcaster
   * from n to n + 1. Kept for good: stored and in-flight messages of every version stay readable,
   * and `npm run check:schemas` compares each version with its snapshot (docs/adr/0015).
   */
  readonly previous?: Readonly<Record<number, PreviousVersion>>;
  /** Messages with the same key are handled in publish order by each consumer. */
  readonly partitionKey: (data: Static<S>) => string;
  readonly description?: string;
}

/**
 * A declared message type. Callable: `orderPlaced({ ... })` returns a draft to stage.
 * Modules export these from `contracts.ts`; they are data only. `type` is a literal type
 * (`'orders.order-placed'`), so a handler typed with `MessageOf<typeof orderPlaced>` takes only
 * that message.
 */
export interface MessageDefinition<S extends TSchema = TSchema, T extends string = string>
  extends SchemaVersions<S> {
  (data: Static<S>): MessageDraft<Static<S>, T>;
  readonly type: T;
  readonly kind: MessageKind;
  readonly owner: string;
  readonly description: string;
}

export type AnyMessageDefinition = MessageDefinition<TSchema, string>;

/**
 * The envelope a handler of `D` receives: its data type and its literal `type`. For a union of
 * definitions, the union of their envelopes (narrowed by `message.type` or `isMessage`).
 */
export type MessageOf<D extends AnyMessageDefinition> =
  D extends MessageDefinition<infer S, infer T> ? Envelope<Static<S>, T> : never;

function define<S extends TSchema, T extends string>(
  kind: MessageKind,
  spec: MessageSpec<S, T>,
): MessageDefinition<S, T> {
  if (!TYPE_NAME.test(spec.type)) {
    throw new Error(`message type "${spec.type}" must be <module>.<kebab-case>`);
  }
  const versions = schemaVersions(spec.type, spec);
  const { version } = versions;
  const create = (data: Static<S>): MessageDraft<Static<S>, T> => ({
    type: spec.type,
    schemaversion: version,
    partitionkey: spec.partitionKey(data),
    data,
  });
  return Object.assign(create, {
    type: spec.type,
    kind,
    owner: spec.type.slice(0, spec.type.indexOf('.')),
    ...versions,
    description: spec.description ?? '',
  });
}

/** Declares an event (past tense: `orders.order-placed`). */
export function defineEvent<S extends TSchema, const T extends string>(
  spec: MessageSpec<S, T>,
): MessageDefinition<S, T> {
  return define('event', spec);
}

/** Declares a command (imperative: `payments.charge-payment`). */
export function defineCommand<S extends TSchema, const T extends string>(
  spec: MessageSpec<S, T>,
): MessageDefinition<S, T> {
  return define('command', spec);
}

/** Narrows a decoded envelope to the data and type of `definition`. */
export function isMessage<S extends TSchema, T extends string>(
  definition: MessageDefinition<S, T>,
  message: Envelope,
): message is Envelope<Static<S>, T> {
  return message.type === definition.type;
}

const EnvelopeAttributes = Compile(
  Type.Object({
    specversion: Type.Literal('1.0'),
    id: Type.String({ minLength: 1 }),
    source: Type.String({ minLength: 1 }),
    type: Type.String({ minLength: 1 }),
    time: Type.String({ minLength: 1 }),
    schemaversion: Type.Integer({ minimum: 1 }),
    correlationid: Type.String({ minLength: 1 }),
    causationid: Type.Union([Type.String(), Type.Null()]),
    partitionkey: Type.String(),
    data: Type.Unknown(),
  }),
);

/**
 * The message types a kernel knows: what its modules publish and what they subscribe to.
 * Validates on publish (an invalid draft is a bug: it throws) and on receive (an invalid message
 * raises BadMessageError, which dead-letters it), upcasting older schema versions on the way in and
 * holding back newer ones this build cannot read (NewerSchemaVersionError).
 */
export class MessageTypes {
  readonly #definitions = new Map<string, AnyMessageDefinition>();

  register(definitions: Iterable<AnyMessageDefinition>): void {
    for (const definition of definitions) {
      const known = this.#definitions.get(definition.type);
      if (known && known !== definition) throw new Error(`message type ${definition.type} is declared twice`);
      this.#definitions.set(definition.type, definition);
    }
  }

  get(type: string): AnyMessageDefinition | undefined {
    return this.#definitions.get(type);
  }

  all(): AnyMessageDefinition[] {
    return [...this.#definitions.values()];
  }

  /** Throws when a draft about to be staged is not valid: a programming error in the caller. */
  assertValidDraft(draft: MessageDraft): void {
    const definition = this.#definitions.get(draft.type);
    if (!definition) throw new Error(`cannot stage ${draft.type}: type not registered by any module`);
    const problems = problemsOf(definition.schema, draft.data);
    if (problems) throw new Error(`cannot stage ${draft.type}: ${problems}`);
  }

  /**
   * Parses and validates a received message and returns it at this build's newest schema version:
   * an older version is upcast; a newer one (published by a newer build) is read as this build's
   * newest when its data validates as that (see `readVersion`). Throws BadMessageError for a
   * message no build can read (not JSON, not an envelope, unknown type, invalid data), and
   * NewerSchemaVersionError for a newer version this build cannot read, which a build that knows
   * it can: the caller holds it for one rather than dead-lettering it.
   */
  decode(raw: string | Buffer | object): Envelope {
    const value = typeof raw === 'object' && !Buffer.isBuffer(raw) ? raw : parseJson(raw);
    if (!EnvelopeAttributes.Check(value)) {
      throw new BadMessageError(`not an envelope: ${describeErrors(EnvelopeAttributes, value)}`);
    }
    const envelope = value as unknown as Envelope;
    const definition = this.#definitions.get(envelope.type);
    if (!definition) throw new BadMessageError(`unknown message type ${envelope.type}`);
    const read = readVersion(definition, envelope.data, envelope.schemaversion);
    if (read.ok) return { ...envelope, schemaversion: definition.version, data: read.data };
    if (read.newer) {
      const { type, schemaversion } = envelope;
      throw new NewerSchemaVersionError(type, schemaversion, definition.version, read.problems, envelope);
    }
    throw new BadMessageError(`${envelope.type} v${definition.version} schema violation: ${read.problems}`);
  }
}

function parseJson(raw: string | Buffer): unknown {
  try {
    return JSON.parse(raw.toString());
  } catch (error) {
    throw new BadMessageError(`not JSON: ${(error as Error).message}`);
  }
}
