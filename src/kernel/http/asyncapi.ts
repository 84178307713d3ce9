import { type Config, redactUrl } from '../config.js';
import type { AnyMessageDefinition } from '../messaging/message-types.js';
import type { ConsumerDescription, Kernel } from '../modules/kernel.js';
import type { HttpApp } from '../modules/module.js';
import { type PackageInfo, packageInfo } from '../package-info.js';
import { type AsyncApiMessage, envelopeSchema, type JsonObject, messageKey } from './asyncapi-envelope.js';
import { mergedAsyncApi } from './openapi.js';

export interface AsyncApiServer {
  readonly host: string;
  readonly protocol: string;
  readonly protocolVersion?: string;
  readonly pathname?: string;
  readonly description: string;
}

interface Ref {
  readonly $ref: string;
}

export interface AsyncApiOperation {
  readonly action: 'send' | 'receive';
  readonly channel: Ref;
  readonly messages: readonly Ref[];
  readonly summary: string;
  readonly 'x-module': string;
  readonly 'x-consumer'?: string;
}

export interface AsyncApiDocument {
  readonly asyncapi: '3.0.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly defaultContentType: 'application/json';
  readonly servers: Readonly<Record<string, AsyncApiServer>>;
  readonly channels: Readonly<Record<string, JsonObject>>;
  readonly operations: Readonly<Record<string, AsyncApiOperation>>;
  readonly components: { readonly messages: Readonly<Record<string, AsyncApiMessage>> };
}

/** A module of this process and the message types it puts on the bus (its events, the commands it sends). */
export interface PublishingModule {
  readonly name: string;
  readonly publishes: readonly string[];
}

export interface AsyncApiSource {
  readonly info: PackageInfo;
  readonly config: Pick<Config, 'transport' | 'redisUrl' | 'amqpUrls' | 'busNamespace'>;
  /** Every message type this process knows (its message types). */
  readonly messages: readonly AnyMessageDefinition[];
  readonly publishers: readonly PublishingModule[];
  readonly consumers: readonly ConsumerDescription[];
}

/**
 * The AsyncAPI 3.0 document of the modules this process runs, not of the whole catalogue: receive
 * operations come from the live subscriptions, which exist only for running modules; the kernel
 * knows no module beyond those it was given; and /openapi.json likewise lists the routes this
 * process serves. With the default MODULES (all) that is every event and command of the system.
 */
export function buildAsyncApiDocument(source: AsyncApiSource): AsyncApiDocument {
  const messages = [...source.messages].sort((a, b) => a.type.localeCompare(b.type));
  const known = new Map(messages.map((m) => [m.type, m]));
  const operations: Record<string, AsyncApiOperation> = {};
  for (const module of source.publishers) {
    for (const type of module.publishes.filter((t) => known.has(t))) {
      operations[`send.${module.name}.${type}`] = operation(
        'send',
        type,
        [type], // this build publishes the newest version only
        module.name,
        `${module.name} puts ${type} on the bus`,
      );
    }
  }
  for (const consumer of source.consumers) {
    for (const [type, message] of consumer.types.flatMap((t) => withDefinition(known, t))) {
      const summary = `consumer ${consumer.name} handles ${type}`;
      operations[`receive.${consumer.name}.${type}`] = {
        ...operation('receive', type, versionKeys(message), consumer.module, summary),
        'x-consumer': consumer.name,
      };
    }
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: source.info.name,
      version: source.info.version,
      description: `${source.info.description} Messages are CloudEvents 1.0 envelopes in structured JSON on every transport; \`data\` follows the schema of the type's \`schemaversion\` (consumers always see the newest version: older ones are upcast).`,
    },
    defaultContentType: 'application/json',
    servers: { [source.config.transport]: serverOf(source.config) },
    channels: Object.fromEntries(messages.map((m) => [m.type, channelOf(m)])),
    operations,
    components: { messages: Object.fromEntries(messages.flatMap(everyVersion)) },
  };
}

const withDefinition = (
  known: ReadonlyMap<string, AnyMessageDefinition>,
  type: string,
): [string, AnyMessageDefinition][] => {
  const message = known.get(type);
  return message ? [[type, message]] : [];
};

/** Every schema version of a message, newest first. */
const versionsOf = (message: AnyMessageDefinition): number[] =>
  Array.from({ length: message.version }, (_, i) => message.version - i);

/** The component names of every version of a message, newest first. */
const versionKeys = (message: AnyMessageDefinition): string[] =>
  versionsOf(message).map((version) => messageKey(message, version));

/** Every version of a message as a component: a consumer receives them all (older ones upcast). */
const everyVersion = (message: AnyMessageDefinition): [string, AsyncApiMessage][] =>
  versionsOf(message).map((version) => [messageKey(message, version), envelopeSchema(message, version)]);

function channelOf(message: AnyMessageDefinition): JsonObject {
  return {
    address: message.type,
    title: message.type,
    description: `${message.kind === 'event' ? 'Event' : 'Command'} owned by ${message.owner}; every schema version it has had travels here.`,
    messages: Object.fromEntries(
      versionKeys(message).map((key) => [key, { $ref: `#/components/messages/${key}` }]),
    ),
  };
}

function operation(
  action: 'send' | 'receive',
  type: string,
  keys: readonly string[],
  module: string,
  summary: string,
): AsyncApiOperation {
  return {
    action,
    channel: { $ref: `#/channels/${type}` },
    messages: keys.map((key) => ({ $ref: `#/channels/${type}/messages/${key}` })),
    summary,
    'x-module': module,
  };
}

/**
 * The broker of the configured transport. Host and path only: the document is public, so user
 * names and passwords stay out of it (the URL goes through redactUrl before it is even parsed).
 */
export function serverOf(config: AsyncApiSource['config']): AsyncApiServer {
  if (config.transport === 'memory') {
    return {
      host: 'in-process',
      protocol: 'memory',
      description:
        'In-process transport: publishers and consumers share one process; deliveries are recorded in each consumer module’s SQLite database and resumed after a restart.',
    };
  }
  const bullmq = config.transport === 'bullmq';
  // a RabbitMQ cluster: the first node is the server, the description names the others
  const [first, ...others] = bullmq ? [config.redisUrl] : config.amqpUrls;
  const url = new URL(redactUrl(first));
  const pathname = url.pathname && url.pathname !== '/' ? { pathname: url.pathname } : {};
  const cluster =
    others.length > 0 ? ` A cluster: also ${others.map((node) => new URL(node).host).join(', ')}.` : '';
  return {
    host: url.host,
    protocol: url.protocol.replace(/:$/, ''),
    ...(bullmq ? {} : { protocolVersion: '0-9-1' }),
    ...pathname,
    description: bullmq
      ? `BullMQ on Redis: queues and keys prefixed "${config.busNamespace}"; one partition queue set per consumer.`
      : `RabbitMQ (AMQP 0-9-1): exchanges and queues prefixed "${config.busNamespace}"; one partitioned queue set per consumer.${cluster}`,
  };
}

/** What this process publishes: each module's events and the commands it sends. */
function publishersOf(kernel: Kernel): PublishingModule[] {
  return kernel.modules.map(({ definition }) => ({
    name: definition.name,
    publishes: [
      ...(definition.messages ?? []).filter((m) => m.kind === 'event').map((m) => m.type),
      ...(definition.sends ?? []).map((m) => m.type),
    ],
  }));
}

/** `GET /asyncapi.json`: public, like /openapi.json. Built at the first request, once the kernel has started. */
export function registerAsyncApiRoute(app: HttpApp, kernel: Kernel): void {
  let document: AsyncApiDocument | undefined;
  app.get('/asyncapi.json', { schema: { hide: true } }, async () => {
    const built =
      document ??
      buildAsyncApiDocument({
        info: packageInfo,
        config: kernel.config,
        messages: kernel.messageTypes.all(),
        publishers: publishersOf(kernel),
        consumers: kernel.consumers(),
      });
    // Kept only once started: before that the message types and the consumers are still filling up.
    if (kernel.started) document = built;
    return mergedAsyncApi(built, app.documentParts);
  });
}
