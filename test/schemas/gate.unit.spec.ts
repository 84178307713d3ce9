/**
 * The schema compatibility gate on its fixtures (test/fixtures/schema-gate): one message type
 * snapshotted at version 1, then changed. Each forbidden change fails naming the type, the version
 * and the path; the allowed ones pass and append a revision, against which later changes are
 * checked too (transitive).
 */
import { describe, expect, it } from 'vitest';
import { formatProblem, type GateSubject, runGate, type Snapshot } from '../../scripts/schema-gate/gate.js';
import { outOfDate, readSnapshots } from '../../scripts/schema-gate/snapshot-files.js';
import {
  baseline,
  channelRetyped,
  described,
  FIXTURE_SNAPSHOTS,
  fieldMadeRequired,
  fieldRemoved,
  literalAdded,
  optionalFieldAdded,
  typeNarrowed,
  version2,
  version2WithoutUpcaster,
} from '../fixtures/schema-gate/contracts.js';

const snapshotted = readSnapshots(FIXTURE_SNAPSHOTS);

/** The gate's problems, one line each, for `subjects` against `snapshots`. */
async function problems(subjects: readonly GateSubject[], snapshots: readonly Snapshot[] = snapshotted) {
  return (await runGate(subjects, snapshots)).problems.map(formatProblem);
}

describe('the schema compatibility gate', () => {
  it('passes the baseline against its own snapshot, which is up to date', async () => {
    const result = await runGate([baseline], snapshotted);
    expect(result.problems).toEqual([]);
    expect(outOfDate(FIXTURE_SNAPSHOTS, result.snapshots)).toEqual([]);
  });

  it.each([
    [
      'a removed field',
      fieldRemoved,
      'shop.price-changed v1 /price: not forward compatible',
      'required by the reader, never written',
    ],
    [
      'a field made required',
      fieldMadeRequired,
      'shop.price-changed v1 /note: not backward compatible',
      'required by the reader, optional for the writer',
    ],
    [
      'a narrowed type',
      typeNarrowed,
      'shop.price-changed v1 /price: not backward compatible',
      'the reader rejects values the writer may write: {"minimum":0,"not":{"type":"integer"},"type":"number"}',
    ],
    [
      'a literal added to a union (a keyword json-schema-diff ignores)',
      literalAdded,
      'shop.price-changed v1 /currency: not provably compatible',
      'changed where json-schema-diff does not compare (const)',
    ],
  ])('fails on %s, naming the type, the version and the path', async (_name, changed, where, why) => {
    const found = await problems([changed]);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(where);
    expect(found[0]).toContain(why);
    expect(found[0]).toContain('or declare version 2 with an upcaster');
  });

  it('fails on a new version without an upcaster', async () => {
    expect(await problems([version2WithoutUpcaster])).toEqual([
      'shop.price-changed v2: has no upcaster from version 1 (a new version ships with its upcaster from the previous one)',
    ]);
  });

  it('passes a new version with its upcaster, keeping version 1 as it was', async () => {
    const { problems: found, snapshots } = await runGate([version2], snapshotted);
    expect(found).toEqual([]);
    expect(snapshots[0]?.versions['1']).toEqual(snapshotted[0]?.versions['1']);
    expect(snapshots[0]?.versions['2']).toEqual([JSON.parse(JSON.stringify(version2.schema))]);
  });

  it('fails when a snapshotted version or type disappears', async () => {
    const withVersion2 = (await runGate([version2], snapshotted)).snapshots;
    expect(await problems([baseline], withVersion2)).toEqual([
      'shop.price-changed v2: disappeared (the newest version declared is 1)',
    ]);
    expect(await problems([], snapshotted)).toEqual([
      'shop.price-changed: no longer declared (snapshotted versions 1): a type once published stays declared, so stored and in-flight messages of it stay readable',
    ]);
  });

  it('passes an optional field and a description within the version, appending a revision each', async () => {
    for (const allowed of [optionalFieldAdded, described]) {
      const { problems: found, snapshots } = await runGate([allowed], snapshotted);
      expect(found).toEqual([]);
      expect(snapshots[0]?.versions['1']).toHaveLength(2);
    }
  });

  it('checks every revision of a version, not only the last (transitive)', async () => {
    // revision 2 has the optional `channel`; dropping it again is allowed, but giving it another type is not
    const withChannel = (await runGate([optionalFieldAdded], snapshotted)).snapshots;
    expect(await problems([baseline], withChannel)).toEqual([]);
    const withoutChannel = (await runGate([baseline], withChannel)).snapshots;
    const found = await problems([channelRetyped], withoutChannel);
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((line) => line.startsWith('shop.price-changed v1 /channel: not'))).toBe(true);
  });
});
