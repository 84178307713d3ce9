import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EVENT_MAP_PATH, generateEventMap } from '../../scripts/event-map.js';

interface Row {
  readonly kind: string;
  readonly publishedBy: string;
  readonly version: string;
  readonly handledBy: readonly string[];
}

/** The table's row for `type`, its cells unquoted (consumer names without backticks). */
function rowOf(markdown: string, type: string): Row {
  const line = markdown.split('\n').find((l) => l.startsWith(`| \`${type}\` |`));
  if (!line) throw new Error(`no row for ${type}`);
  const [, kind = '', publishedBy = '', version = '', handledBy = ''] = line
    .slice(1, -1)
    .split('|')
    .map((cell) => cell.trim());
  return { kind, publishedBy, version, handledBy: handledBy.replaceAll('`', '').split(', ') };
}

describe('docs/event-map.md', () => {
  let generated = '';
  beforeAll(async () => {
    generated = await generateEventMap();
  });

  it('is up to date (regenerate with `npm run event-map`)', () => {
    expect(readFileSync(EVENT_MAP_PATH, 'utf8')).toBe(generated);
  });

  it('shows orders.order-placed as an orders event handled by the checkout saga, the timeline and analytics', () => {
    const row = rowOf(generated, 'orders.order-placed');
    expect(row).toMatchObject({ kind: 'event', publishedBy: 'orders', version: '1' });
    expect(row.handledBy).toEqual(
      expect.arrayContaining(['orders.checkout-saga', 'orders.timeline', 'analytics.projections']),
    );
  });

  it('shows payments.charge-payment as a command sent by orders and handled by the payments account', () => {
    const row = rowOf(generated, 'payments.charge-payment');
    expect(row).toMatchObject({ kind: 'command', publishedBy: 'orders' });
    expect(row.handledBy).toContain('payments.account-commands');
  });

  it('draws the module edges with the types they carry', () => {
    expect(generated).toContain('flowchart LR');
    expect(generated).toContain(
      '  orders -->|"payments.charge-payment<br/>payments.refund-payment"| payments',
    );
  });
});
