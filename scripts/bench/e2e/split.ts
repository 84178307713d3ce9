/**
 * The split deployment of deploy/split.json for the e2e rows: every process of the manifest
 * (each instance of each entry, with its MODULES) from the built JavaScript, on free loopback
 * ports, sharing one DATA_DIR, BUS_NAMESPACE and JWT secret, like `npm run start:split` runs them.
 * A row may run more instances of an entry than the manifest does (`Instances`): the manifest stays
 * the deployment the README documents, and a row's variant says what it changes.
 * Ready once the gateway's registry lists a live instance of every module.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts } from '../../../src/kernel/testing/ports.js';
import { type Manifest, parseManifest, planProcesses } from '../../split-manifest.js';
import { PROJECT_ROOT } from '../lib/options.js';
import { sleep } from '../lib/stats.js';
import { Child } from './child.js';
import type { HttpClient } from './client.js';

const REGISTRY_WAIT_MS = 60_000;

/** Instances per manifest entry (by its name in deploy/split.json), over the manifest's own. */
export type Instances = Readonly<Record<string, number>>;

/**
 * deploy/split.json with `instances` applied and checked again as a manifest (1 to 16 each); an
 * entry the manifest does not have is an error. The bench gives every process a free port of its
 * own, so the variant lays the manifest's ports out anew, one after the other: more instances of an
 * entry would otherwise run into the next entry's port (payments ×4 from 3102 meets notify's 3104).
 */
export function splitManifest(instances: Instances = {}): Manifest {
  const manifest = parseManifest(JSON.parse(readFileSync(join(PROJECT_ROOT, 'deploy/split.json'), 'utf8')));
  if (Object.keys(instances).length === 0) return manifest;
  for (const name of Object.keys(instances)) {
    if (!manifest.processes[name]) throw new Error(`deploy/split.json has no process entry "${name}"`);
  }
  let port = Math.min(...Object.values(manifest.processes).map((entry) => entry.port));
  const processes = Object.fromEntries(
    Object.entries(manifest.processes).map(([name, entry]) => {
      const resized = { ...entry, port, instances: instances[name] ?? entry.instances };
      port += resized.instances;
      return [name, resized];
    }),
  );
  return parseManifest({ ...manifest, processes });
}

/** What the deployment runs, for a row's method: "gateway+users, …, payments+inventory ×4: 7 processes". */
export function describeSplit(instances: Instances = {}): string {
  const entries = Object.values(splitManifest(instances).processes);
  const parts = entries.map(
    (entry) => `${entry.modules.join('+')}${entry.instances > 1 ? ` ×${entry.instances}` : ''}`,
  );
  const processes = entries.reduce((sum, entry) => sum + entry.instances, 0);
  return `${parts.join(', ')}: ${processes} processes`;
}

export interface SplitDeployment {
  /** The gateway process first (the entry point), then the others in manifest order. */
  readonly children: readonly Child[];
  /** Instances per module, as the manifest asks for them. */
  readonly expected: ReadonlyMap<string, number>;
}

export async function startSplit(
  entry: string,
  env: Record<string, string>,
  instances: Instances = {},
): Promise<SplitDeployment> {
  const plans = planProcesses(splitManifest(instances), {});
  const ports = await freePorts(plans.length);
  const expected = new Map<string, number>();
  for (const plan of plans) {
    for (const module of String(plan.env.MODULES).split(','))
      expected.set(module, (expected.get(module) ?? 0) + 1);
  }
  const started = await Promise.allSettled(
    plans.map((plan, i) => {
      // the manifest says which modules, and whom to trust; the bench's env the rest (transport, data, namespace)
      const own = {
        MODULES: String(plan.env.MODULES),
        TRUST_PROXY: plan.env.TRUST_PROXY ?? '',
        PORT: String(ports[i]),
      };
      return Child.start(entry, { ...plan.env, ...env, ...own });
    }),
  );
  const children = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(children.map((child) => child.stop()));
    throw failed.reason;
  }
  const gateway = plans.findIndex((plan) => String(plan.env.MODULES).split(',').includes('gateway'));
  const front = children[gateway];
  if (!front) throw new Error('deploy/split.json runs no gateway');
  return { children: [front, ...children.filter((child) => child !== front)], expected };
}

/** Waits until GET /admin/services (through the gateway) lists every module with its instances ready. */
export async function untilRegistered(
  client: HttpClient,
  admin: string,
  expected: ReadonlyMap<string, number>,
) {
  const deadline = Date.now() + REGISTRY_WAIT_MS;
  let missing: string[] = [...expected.keys()];
  while (Date.now() < deadline) {
    const answer = await client.call('GET', '/admin/services', { token: admin });
    if (answer.status === 200) {
      const ready = new Map<string, number>();
      for (const service of answer.body as { modules: string[]; status: string }[]) {
        if (service.status !== 'pass') continue;
        for (const module of service.modules) ready.set(module, (ready.get(module) ?? 0) + 1);
      }
      missing = [...expected].filter(([module, n]) => (ready.get(module) ?? 0) < n).map(([module]) => module);
      if (missing.length === 0) return;
    }
    await sleep(200);
  }
  throw new Error(
    `the split deployment did not register within ${REGISTRY_WAIT_MS / 1000} s: ${missing.join(', ')}`,
  );
}
