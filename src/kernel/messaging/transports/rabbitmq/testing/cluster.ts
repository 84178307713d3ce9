/**
 * A private RabbitMQ cluster for tests: private nodes (private-node.ts) booted side by side on
 * free ports, then each joined to the first (`rabbitmqctl stop_app`, `join_cluster`, `start_app`).
 * It shares nothing with the shared broker but epmd and the rabbitmq user's Erlang cookie.
 * `stop()` stops every node and deletes their directories.
 */
import { PrivateRabbit } from './private-node.js';

export class PrivateCluster {
  private constructor(readonly nodes: readonly [PrivateRabbit, ...PrivateRabbit[]]) {}

  /** Why no private cluster can be started here, or undefined. */
  static missingReason(): string | undefined {
    return PrivateRabbit.missingReason();
  }

  /** Boots `labels.length` nodes (named after the labels) and clusters them. */
  static async start(labels: readonly [string, ...string[]] = ['a', 'b', 'c']): Promise<PrivateCluster> {
    const booted = await Promise.allSettled(labels.map((label) => PrivateRabbit.start(label)));
    const nodes = booted.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const [first, ...others] = nodes;
    const failed = booted.find((result) => result.status === 'rejected');
    if (first === undefined || failed) {
      await Promise.all(nodes.map((node) => node.stop()));
      throw failed?.reason ?? new Error('no RabbitMQ node booted');
    }
    const cluster = new PrivateCluster([first, ...others]);
    try {
      // one at a time: each join changes the cluster's membership, which the next join reads
      for (const node of others) {
        await node.ctl('stop_app');
        await node.ctl('join_cluster', first.node);
        await node.ctl('start_app');
      }
      await first.ctl('await_online_nodes', String(nodes.length));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** AMQP_URL for the whole cluster: every node, comma separated, in node order. */
  get amqpUrl(): string {
    return this.nodes.map((node) => node.url).join(',');
  }

  /**
   * The nodes holding the client connections named `connectionName` (clientProperties
   * connection_name), as `rabbitmqctl list_connections` lists them on `via`, any running node:
   * the listing covers the whole cluster.
   */
  async nodesServing(connectionName: string, via: PrivateRabbit): Promise<PrivateRabbit[]> {
    const listed = await via.ctl('list_connections', 'port', 'client_properties', '--formatter', 'json');
    // client_properties is an AMQP table: [name, type, value] triples
    const connections = JSON.parse(listed) as {
      port: number;
      client_properties: [string, string, unknown][];
    }[];
    const ports = connections
      .filter((c) =>
        c.client_properties.some(([name, , value]) => name === 'connection_name' && value === connectionName),
      )
      .map((c) => c.port);
    return this.nodes.filter((node) => ports.includes(node.port));
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}
