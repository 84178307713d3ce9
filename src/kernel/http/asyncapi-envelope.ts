import type { AnyMessageDefinition } from '../messaging/message-types.js';

export type JsonObject = { readonly [key: string]: unknown };

export interface AsyncApiMessage {
  readonly name: string;
  readonly title: string;
  readonly summary: string;
  readonly contentType: 'application/json';
  readonly correlationId: { readonly location: string; readonly description: string };
  readonly tags: readonly { readonly name: string }[];
  readonly payload: JsonObject;
  readonly 'x-kind': 'event' | 'command';
  readonly 'x-owner': string;
  readonly 'x-schemaversion': number;
}

const text = (description: string) => ({ type: 'string', minLength: 1, description });

/** Every envelope attribute but `traceparent`, which is there only when a trace is known. */
const REQUIRED_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'datacontenttype',
  'schemaversion',
  'correlationid',
  'causationid',
  'partitionkey',
  'data',
];

/** The component name of one version of a message: its type for the newest, `<type>.v<n>` before. */
export function messageKey(message: AnyMessageDefinition, version = message.version): string {
  return version === message.version ? message.type : `${message.type}.v${version}`;
}

/**
 * The message as it travels: the CloudEvents envelope in structured JSON (the same on every
 * transport, so the envelope is the payload rather than protocol headers), with `type` and
 * `schemaversion` fixed to this message's and `data` holding the registered TypeBox schema of
 * `version` (default the newest: what this build publishes; an older one is still received).
 */
export function envelopeSchema(message: AnyMessageDefinition, version = message.version): AsyncApiMessage {
  const summary =
    message.description || `${message.kind === 'event' ? 'Event' : 'Command'} of ${message.owner}.`;
  const older =
    version === message.version
      ? ''
      : ` Schema version ${version}: received, and upcast to ${message.version}.`;
  return {
    name: messageKey(message, version),
    title: `${message.type}${version === message.version ? '' : ` v${version}`}`,
    summary: `${summary}${older}`,
    contentType: 'application/json',
    correlationId: {
      location: '$message.payload#/correlationid',
      description: 'The id of the request that started the flow; every message it causes carries it.',
    },
    tags: [{ name: message.owner }, { name: message.kind }],
    'x-kind': message.kind,
    'x-owner': message.owner,
    'x-schemaversion': version,
    payload: {
      type: 'object',
      required: REQUIRED_ATTRIBUTES,
      properties: envelopeProperties(message, version),
    },
  };
}

function envelopeProperties(message: AnyMessageDefinition, version: number): JsonObject {
  const upcast = message.version > 1 ? ` Versions 1 to ${message.version - 1} are upcast on receipt.` : '';
  return {
    specversion: { const: '1.0' },
    id: text('Assigned once from the outbox row; stable across redeliveries (inboxes key on it).'),
    source: text('The publishing module.'),
    type: { const: message.type },
    time: { type: 'string', format: 'date-time' },
    datacontenttype: { const: 'application/json' },
    schemaversion: {
      const: version,
      description: `The schema version of \`data\` (newest: ${message.version}).${upcast}`,
    },
    correlationid: text('Shared by every message of one flow (the HTTP request’s x-correlation-id).'),
    causationid: {
      type: ['string', 'null'],
      description: 'The id of the message whose handling staged this one; null when a request did.',
    },
    partitionkey: {
      type: 'string',
      description: 'Messages with the same key are handled in publish order by each consumer.',
    },
    traceparent: { type: 'string', description: 'W3C trace context, when known.' },
    data: plainSchema(message.schemas[version]),
  };
}

/** A registered TypeBox schema as plain JSON Schema (a copy: the document must not share the live object). */
function plainSchema(schema: unknown): JsonObject {
  return JSON.parse(JSON.stringify(schema ?? {})) as JsonObject;
}
