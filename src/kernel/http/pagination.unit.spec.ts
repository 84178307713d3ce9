import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpProblem } from './errors.js';
import {
  collectPages,
  DEFAULT_PAGE_SIZE,
  keyset,
  MAX_PAGE_SIZE,
  mergeSorted,
  type Page,
  type PageRequest,
  pagePath,
} from './pagination.js';

interface Row {
  readonly at: number;
  readonly id: string;
}

const key = (row: Row): [number, string] => [row.at, row.id];
const byKey = (a: Row, b: Row) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const rows = keyset('rows', ['integer', 'string']);

/** A table read the way the SQL of a list reads it: sorted, after the key, at most `take`. */
function table(initial: readonly Row[] = []) {
  const all = [...initial];
  return {
    add: (row: Row) => all.push(row),
    page: (request: PageRequest): Promise<Page<Row>> =>
      rows.page(
        request,
        async (after, take) =>
          [...all]
            .sort(byKey)
            .filter((row) => after === undefined || byKey(row, { at: after[0], id: after[1] }) > 0)
            .slice(0, take),
        key,
      ),
  };
}

const fiveRows = Array.from({ length: 5 }, (_, i) => ({ at: 1000 + i, id: `r${i}` }));

/** Every page of the table, following `next`; `between` runs after each page. */
async function walk(
  list: ReturnType<typeof table>,
  limit: number,
  between: (page: number) => void = () => {},
) {
  const pages: Page<Row>[] = [];
  let cursor: string | undefined;
  do {
    const page = await list.page({ limit, cursor });
    pages.push(page);
    between(pages.length);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return pages;
}

describe('keyset pages', () => {
  it('cuts 5 items into pages of 2, 2 and 1; next is null only on the last', async () => {
    const pages = await walk(table(fiveRows), 2);
    expect(pages.map((page) => page.items.map((row) => row.id))).toEqual([
      ['r0', 'r1'],
      ['r2', 'r3'],
      ['r4'],
    ]);
    expect(pages.map((page) => page.next === null)).toEqual([false, false, true]);
  });

  it('answers an empty list as one empty page, and a list of exactly one page without a next', async () => {
    expect(await table().page({})).toEqual({ items: [], next: null });
    expect(await table(fiveRows).page({ limit: 5 })).toEqual({ items: fiveRows, next: null });
  });

  it(`gives ${DEFAULT_PAGE_SIZE} items when no limit is asked`, async () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ at: i, id: `m${i}` }));
    expect((await table(many).page({})).items).toHaveLength(DEFAULT_PAGE_SIZE);
  });

  it('gives every item exactly once, in order, whatever the page size and ties of the first key', async () => {
    const row = fc.record({ at: fc.integer({ min: 0, max: 5 }), id: fc.uuid() });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(row, { selector: (r) => r.id, maxLength: 40 }),
        fc.integer({ min: 1, max: 7 }),
        async (all, limit) => {
          const seen = (await walk(table(all), limit)).flatMap((page) => page.items);
          expect(seen).toEqual([...all].sort(byKey));
        },
      ),
    );
  });

  it('stays whole while items arrive: nothing repeats or is skipped, and the new ones follow', async () => {
    const list = table(fiveRows);
    // A newer item after each page read (an oldest-first list: they come at its end); the one
    // added after the last page is for the next reader.
    const pages = await walk(list, 2, (page) => list.add({ at: 2000 + page, id: `new${page}` }));
    expect(pages.flatMap((page) => page.items.map((row) => row.id))).toEqual([
      'r0',
      'r1',
      'r2',
      'r3',
      'r4',
      'new1',
      'new2',
      'new3',
    ]);
  });

  it('stays whole when items arrive at its head (a newest-first list)', async () => {
    const list = table(fiveRows);
    // items sorting before every cursor handed out: a newest-first list's new items
    const pages = await walk(list, 2, (page) => list.add({ at: page, id: `head${page}` }));
    expect(pages.flatMap((page) => page.items.map((row) => row.id))).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });
});

describe('cursors', () => {
  const refused = async (cursor: string) => {
    try {
      await table(fiveRows).page({ limit: 2, cursor });
    } catch (error) {
      return error instanceof HttpProblem ? { status: error.status, code: error.code } : error;
    }
    return 'accepted';
  };
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('are opaque base64url text', async () => {
    const next = (await table(fiveRows).page({ limit: 2 })).next;
    expect(next).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it.each([
    ['not base64url', 'not a cursor!'],
    ['base64url of no JSON', Buffer.from('hello').toString('base64url')],
    ['JSON that is no array', encode({ at: 1, id: 'r1' })],
    ["another list's cursor", encode(['other', 1001, 'r1'])],
    ['a key of the wrong types', encode(['rows', '1001', 1])],
    ['a key too short', encode(['rows', 1001])],
    ['a key too long', encode(['rows', 1001, 'r1', 'x'])],
    ['a fractional number', encode(['rows', 1001.5, 'r1'])],
  ])('refuses %s with 400 HTTP_INVALID_CURSOR', async (_name, cursor) => {
    expect(await refused(cursor)).toEqual({ status: 400, code: 'HTTP_INVALID_CURSOR' });
  });

  it('accepts a key made the way the list makes them (the next page after it)', async () => {
    expect(await refused(encode(['rows', 1001, 'r1']))).toBe('accepted');
  });
});

describe('reading a list as a client does', () => {
  it('asks for the largest pages, then follows next until null', async () => {
    const list = table(fiveRows);
    const asked: string[] = [];
    const all = await collectPages(async (cursor) => {
      asked.push(pagePath('/rows?kind=a', cursor, 2));
      return list.page({ limit: 2, cursor });
    });
    expect(all).toEqual(fiveRows);
    expect(asked[0]).toBe('/rows?kind=a&limit=2');
    expect(asked[1]).toMatch(/^\/rows\?kind=a&limit=2&cursor=[A-Za-z0-9_-]+$/);
    expect(pagePath('/rows', undefined)).toBe(`/rows?limit=${MAX_PAGE_SIZE}`);
  });
});

describe('merging pages of several databases', () => {
  it('keeps the first items of the merged order, ascending or descending', () => {
    const a = [
      { at: 1, id: 'a' },
      { at: 4, id: 'a' },
    ];
    const b = [
      { at: 2, id: 'b' },
      { at: 4, id: 'b' },
      { at: 5, id: 'b' },
    ];
    expect(mergeSorted([a, b], key, 'asc', 4)).toEqual([a[0], b[0], a[1], b[1]]);
    const desc = (list: Row[]) => [...list].reverse();
    expect(mergeSorted([desc(a), desc(b)], key, 'desc', 3)).toEqual([b[2], b[1], a[1]]);
  });
});
