/**
 * The schema compatibility gate (docs/adr/0015): the registered schemas of every (type, version)
 * against their snapshots, which keep every schema each version has had (its revisions).
 *
 * It fails when
 * - a version's schema changed in a way that is not FULL compatible with any of its revisions
 *   (transitive: with every schema the version ever had, not only the last one);
 * - a snapshotted version, or a whole type, is no longer declared;
 * - a version has no upcaster from the one before it (or no schema).
 * Otherwise it returns the snapshots to write: each changed version gets its new revision appended,
 * each new version or type its first. A type's kind (event or command) never changes.
 */
import { type Incompatibility, incompatibilities } from './compatibility.js';
import { canonicalJson, type JsonSchema } from './schema-json.js';

/** What the gate knows of a declared type: a MessageDefinition has all of this. */
export interface GateSubject {
  readonly type: string;
  readonly kind: string;
  readonly version: number;
  /** The schema of every version 1 … version. */
  readonly schemas: Readonly<Record<number, unknown>>;
  /** `upcasters[n]` turns version n into n + 1. */
  readonly upcasters: Readonly<Record<number, unknown>>;
}

/** A type's snapshot: per version, every schema it has had, oldest first (the last is current). */
export interface Snapshot {
  readonly type: string;
  readonly kind: string;
  readonly versions: Readonly<Record<string, readonly JsonSchema[]>>;
}

export interface GateProblem {
  readonly type: string;
  readonly version?: number;
  /** Where in the data, for an incompatible change. */
  readonly path?: string;
  readonly message: string;
}

export interface GateResult {
  readonly problems: readonly GateProblem[];
  /** The snapshots the subjects give, in type order (meaningful only without problems). */
  readonly snapshots: readonly Snapshot[];
}

const DIRECTIONS: Record<Incompatibility['direction'], string> = {
  backward: 'not backward compatible (the new schema rejects data written with an earlier revision)',
  forward: 'not forward compatible (an earlier revision rejects data written with the new schema)',
  unproven: 'not provably compatible',
};

export async function runGate(
  subjects: readonly GateSubject[],
  snapshots: readonly Snapshot[],
): Promise<GateResult> {
  const problems: GateProblem[] = [];
  const declared = new Map(subjects.map((subject) => [subject.type, subject]));
  for (const snapshot of snapshots) {
    if (!declared.has(snapshot.type)) {
      problems.push({
        type: snapshot.type,
        message: `no longer declared (snapshotted versions ${Object.keys(snapshot.versions).join(', ')}): a type once published stays declared, so stored and in-flight messages of it stay readable`,
      });
    }
  }
  const known = new Map(snapshots.map((snapshot) => [snapshot.type, snapshot]));
  const next: Snapshot[] = [];
  for (const subject of [...subjects].sort((a, b) => (a.type < b.type ? -1 : 1))) {
    const result = await checkSubject(subject, known.get(subject.type));
    problems.push(...result.problems);
    next.push(result.snapshot);
  }
  return { problems, snapshots: next };
}

async function checkSubject(
  subject: GateSubject,
  snapshot: Snapshot | undefined,
): Promise<{ problems: GateProblem[]; snapshot: Snapshot }> {
  const { type } = subject;
  const problems: GateProblem[] = [];
  if (snapshot && snapshot.kind !== subject.kind) {
    problems.push({ type, message: `was a ${snapshot.kind}, now declared a ${subject.kind}` });
  }
  for (const key of Object.keys(snapshot?.versions ?? {})) {
    if (Number(key) > subject.version) {
      problems.push({
        type,
        version: Number(key),
        message: `disappeared (the newest version declared is ${subject.version})`,
      });
    }
  }
  const versions: Record<string, JsonSchema[]> = {};
  for (let version = 1; version <= subject.version; version++) {
    const schema = subject.schemas[version];
    if (schema === undefined) {
      problems.push({ type, version, message: 'has no schema' });
      continue;
    }
    if (version > 1 && typeof subject.upcasters[version - 1] !== 'function') {
      problems.push({
        type,
        version,
        message: `has no upcaster from version ${version - 1} (a new version ships with its upcaster from the previous one)`,
      });
    }
    const current = plain(schema);
    const revisions = snapshot?.versions[String(version)] ?? [];
    problems.push(...(await againstRevisions(type, version, current, revisions)));
    const unchanged = revisions.length > 0 && sameSchema(revisions[revisions.length - 1], current);
    versions[String(version)] = unchanged ? [...revisions] : [...revisions, current];
  }
  return { problems, snapshot: { type, kind: subject.kind, versions } };
}

/** FULL compatibility with every distinct earlier revision (transitive). */
async function againstRevisions(
  type: string,
  version: number,
  current: JsonSchema,
  revisions: readonly JsonSchema[],
): Promise<GateProblem[]> {
  const problems: GateProblem[] = [];
  const seen = new Set<string>();
  for (const [index, revision] of revisions.entries()) {
    const text = canonicalJson(revision);
    if (seen.has(text) || text === canonicalJson(current)) continue;
    seen.add(text);
    for (const { direction, path, detail } of await incompatibilities(revision, current)) {
      const message = `${DIRECTIONS[direction]} with revision ${index + 1}: ${detail} (keep the change FULL compatible, or declare version ${version + 1} with an upcaster)`;
      if (!problems.some((p) => p.path === path && p.message === message))
        problems.push({ type, version, path, message });
    }
  }
  return problems;
}

/** A TypeBox schema as plain JSON (symbols and undefined left out), as it is snapshotted. */
const plain = (schema: unknown): JsonSchema => JSON.parse(JSON.stringify(schema)) as JsonSchema;

const sameSchema = (a: JsonSchema | undefined, b: JsonSchema): boolean =>
  a !== undefined && canonicalJson(a) === canonicalJson(b);

/** `<type> v<version> <path>: <message>`, one line. */
export function formatProblem({ type, version, path, message }: GateProblem): string {
  return `${type}${version === undefined ? '' : ` v${version}`}${path === undefined ? '' : ` ${path}`}: ${message}`;
}
