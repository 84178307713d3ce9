import { describe, expect, it } from 'vitest';
import { gateMessageSchemas } from '../../scripts/message-schemas.js';
import { formatProblem } from '../../scripts/schema-gate/gate.js';
import { outOfDate, SNAPSHOT_DIR } from '../../scripts/schema-gate/snapshot-files.js';

describe('schemas/messages (npm run check:schemas)', () => {
  it('the build’s message types keep the compatibility policy, and their snapshots are up to date', async () => {
    const { problems, snapshots } = await gateMessageSchemas();
    expect(problems.map(formatProblem)).toEqual([]);
    expect(snapshots.map((s) => s.type)).toContain('orders.order-placed');
    expect(outOfDate(SNAPSHOT_DIR, snapshots).map((s) => s.type)).toEqual([]);
  });
});
