import type { ListedInstance, ServiceInstances } from '../../registry/http.js';
import type { InstanceSnapshot, ReportedGroup, ReportedSaga } from './dashboard-view.js';

/** How long the dashboard waits for another instance's snapshot: past it, the instance shows as unreachable. */
export const INSTANCE_ANSWER_MS = 1500;

/** One instance of the deployment as the dashboard shows it. */
export interface InstanceEntry {
  readonly id: string;
  /** Its advertised base URL ('' for a process that does not listen: an app under test). */
  readonly url: string;
  readonly self: boolean;
  readonly modules: readonly string[];
  /** Its registry record (pid, host, readiness, heartbeat); undefined without a registry. */
  readonly registered: ListedInstance | undefined;
  /** What it reported; undefined when it did not answer. */
  readonly snapshot: InstanceSnapshot | undefined;
  /** Why it did not answer. */
  readonly problem: string | undefined;
}

/** A group of dead letters with the instance that reported it (where replay and delete go). */
export type DeploymentGroup = ReportedGroup & { readonly instance: string; readonly instanceUrl: string };
export type DeploymentSaga = ReportedSaga & { readonly instance: string };

/** The whole deployment, as gathered by the process serving the dashboard. */
export interface DeploymentView {
  /** The process serving the page. */
  readonly self: InstanceSnapshot;
  readonly instances: readonly InstanceEntry[];
  /** Why the registry could not be read (then only this process is shown). */
  readonly registryProblem: string | undefined;
  readonly deadLetterGroups: readonly DeploymentGroup[];
  readonly deadLetterTotal: number;
  readonly sagaCounts: Readonly<Record<string, number>>;
  readonly sagas: readonly DeploymentSaga[];
  readonly generatedAt: string;
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The live instances, this process among them (also when it does not listen, or the registry is away). */
export async function liveInstances(
  services: ServiceInstances,
): Promise<{ instances: ListedInstance[]; problem: string | undefined }> {
  try {
    return { instances: await services.list(), problem: undefined };
  } catch (error) {
    return { instances: [], problem: `service registry: ${reason(error)}` };
  }
}

/** Another instance's snapshot, read with the caller's admin token. */
async function remoteSnapshot(url: string, token: string): Promise<InstanceSnapshot> {
  const response = await fetch(`${url}/admin/instance`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    signal: AbortSignal.timeout(INSTANCE_ANSWER_MS),
  });
  if (!response.ok) throw new Error(`answered ${response.status}`);
  return (await response.json()) as InstanceSnapshot;
}

/**
 * Gathers every instance's snapshot: this process's read here, the others' over HTTP at their
 * registered URL, all at once, each within INSTANCE_ANSWER_MS (an instance that does not answer
 * shows as unreachable; the page never waits longer than that). The admin's own token goes with
 * each request: another process lets it in as its own dashboard would.
 *
 * Instances that run the same modules share those modules' databases (two instances of payments
 * and inventory read and write the same payments.db): their dead letters and sagas are the same
 * rows, so they are taken from one of them only, the first that answered in URL order.
 */
export async function gatherDeployment(options: {
  readonly services: ServiceInstances;
  readonly self: () => Promise<InstanceSnapshot>;
  readonly token: string;
}): Promise<DeploymentView> {
  const { instances: listed, problem } = await liveInstances(options.services);
  const registered = listed.some((instance) => instance.self) ? listed : [undefined, ...listed]; // this process, not (yet) in the registry
  const entries = await Promise.all(
    registered.map(async (instance): Promise<InstanceEntry> => {
      const self = instance === undefined || instance.self;
      const base = {
        id: instance?.id ?? 'this-process',
        url: instance?.url ?? '',
        self,
        registered: instance,
      };
      try {
        const snapshot = self ? await options.self() : await remoteSnapshot(base.url, options.token);
        return { ...base, modules: snapshot.modules, snapshot, problem: undefined };
      } catch (error) {
        return { ...base, modules: instance?.modules ?? [], snapshot: undefined, problem: reason(error) };
      }
    }),
  );
  const self = entries.find((entry) => entry.self)?.snapshot;
  if (!self) throw new Error('this process did not describe itself');

  const reporters = new Map<string, InstanceEntry>();
  for (const entry of entries) {
    const key = [...entry.modules].sort().join(',');
    if (entry.snapshot && !reporters.has(key)) reporters.set(key, entry);
  }
  const reporting = [...reporters.values()];
  const sagaCounts: Record<string, number> = {};
  for (const entry of reporting) {
    for (const [status, n] of Object.entries(entry.snapshot?.sagaCounts ?? {})) {
      sagaCounts[status] = (sagaCounts[status] ?? 0) + n;
    }
  }
  return {
    self,
    instances: entries,
    registryProblem: problem,
    deadLetterGroups: reporting
      .flatMap((entry) =>
        (entry.snapshot?.deadLetterGroups ?? []).map((group) => ({
          ...group,
          instance: entry.id,
          instanceUrl: entry.url,
        })),
      )
      .sort((a, b) => b.lastFailedAt.localeCompare(a.lastFailedAt)),
    deadLetterTotal: reporting.reduce((sum, entry) => sum + (entry.snapshot?.deadLetterTotal ?? 0), 0),
    sagaCounts,
    sagas: reporting
      .flatMap((entry) =>
        (entry.snapshot?.recentSagas ?? []).map((saga) => ({ ...saga, instance: entry.id })),
      )
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt)),
    generatedAt: new Date().toISOString(),
  };
}

/**
 * The live instance `id` (which a page names for a group's replay or delete), so that a request
 * goes only to a URL the registry holds, never to one a client wrote. Undefined: not live.
 */
export async function instanceById(
  services: ServiceInstances,
  id: string,
): Promise<{ self: true } | { self: false; url: string } | undefined> {
  if (id === 'this-process') return { self: true };
  const { instances } = await liveInstances(services);
  const instance = instances.find((candidate) => candidate.id === id);
  if (!instance) return undefined;
  return instance.self ? { self: true } : { self: false, url: instance.url };
}

/** Calls an admin JSON route of another instance with the caller's token; its answer's status and body. */
export async function callInstance(
  url: string,
  token: string,
  method: 'POST' | 'DELETE' | 'GET',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}
