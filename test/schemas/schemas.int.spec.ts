import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../scripts/schema-gate/gate.js';
import { outOfDate, SNAPSHOT_DIR } from '../../scripts/schema-gate/snapshot-files.js';
import { gateSchemas } from '../../scripts/schemas.js';

describe('schemas/ (npm run check:schemas)', () => {
  it('the build’s message and stored event types keep the compatibility policy; their snapshots are up to date', async () => {
    const { problems, snapshots } = await gateSchemas();
    expect(problems.map(formatProblem)).toEqual([]);
    expect(snapshots.map((s) => s.type)).toEqual(
      expect.arrayContaining(['orders.order-placed', 'payments.FundsDeposited']),
    );
    expect(outOfDate(SNAPSHOT_DIR, snapshots).map((s) => s.type)).toEqual([]);
  });
});
