import { type TProperties, type TSchema, Type } from 'typebox';
import { HttpProblem } from './errors.js';

/**
 * Cursor pagination of every HTTP list that can grow: `?limit=&cursor=` in,
 * a page `{ items, next }` out, `next` being the cursor of the following page or null on the last
 * one. Keyset pagination: a cursor holds the sort key of the last item of its page, and the next
 * page is the rows after that key in the list's order (an index range), so a page costs the same
 * on the first page and the thousandth, and items arriving meanwhile neither repeat nor skip any.
 */

/** Items in a page when the client does not say. */
export const DEFAULT_PAGE_SIZE = 20;
/**
 * The largest `limit` accepted (more is a 400): bounds what one request reads, serializes and
 * holds in memory (100 orders of 100 lines are about 0.6 MB).
 */
export const MAX_PAGE_SIZE = 100;
/** Longer than any cursor this module makes: a bigger one is refused before it is decoded. */
const MAX_CURSOR_CHARS = 512;

const strict = { additionalProperties: false } as const;

const pageProperties = {
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_PAGE_SIZE,
      default: DEFAULT_PAGE_SIZE,
      description: `Items per page (1 to ${MAX_PAGE_SIZE}, default ${DEFAULT_PAGE_SIZE})`,
    }),
  ),
  cursor: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: MAX_CURSOR_CHARS,
      description: 'The `next` of the previous page, as it was given (absent: the first page)',
    }),
  ),
};

/** The querystring of a paginated list: its own filters, plus `limit` and `cursor`. */
export function PageQuery(): ReturnType<typeof Type.Object<typeof pageProperties>>;
export function PageQuery<Filters extends TProperties>(
  filters: Filters,
): ReturnType<typeof Type.Object<Filters & typeof pageProperties>>;
export function PageQuery(filters: TProperties = {}) {
  return Type.Object({ ...filters, ...pageProperties }, strict);
}

/** The response schema of a page of `item`. */
export function PageOf<Item extends TSchema>(item: Item) {
  return Type.Object(
    {
      items: Type.Array(item),
      next: Type.Union([Type.String(), Type.Null()], {
        description: 'The cursor of the following page; null on the last page',
      }),
    },
    { ...strict, description: `A page of the list; pass \`next\` as \`cursor\` for the following one` },
  );
}

export interface Page<Item> {
  readonly items: Item[];
  readonly next: string | null;
}

/** What a client asked of a list (the validated querystring). */
export interface PageRequest {
  readonly limit?: number | undefined;
  readonly cursor?: string | undefined;
}

/** The types of the parts of a sort key: `integer` (epoch ms, versions) or `string` (ids, skus). */
export type KeyKind = 'integer' | 'string';
type KeyPart<Kind extends KeyKind> = Kind extends 'integer' ? number : string;
/** A sort key: the values of the list's order columns for one item, e.g. `[createdAt, id]`. */
export type SortKey<Kinds extends readonly KeyKind[]> = { -readonly [I in keyof Kinds]: KeyPart<Kinds[I]> };

/** Reads up to `take` items that come after `after` in the list's order (from the start without one). */
export type PageFetch<Item, Key> = (after: Key | undefined, take: number) => readonly Item[];
/** A `PageFetch` that reads asynchronously (a module's database, on either backend). */
export type AsyncPageFetch<Item, Key> = (after: Key | undefined, take: number) => Promise<readonly Item[]>;

/**
 * One list's keyset pagination: its cursors, and how a page is cut from what `fetch` reads (the
 * page at once from a synchronous fetch, a promise of it from an asynchronous one).
 */
export interface Keyset<Kinds extends readonly KeyKind[]> {
  // The asynchronous signature first, for the modules' fetches: TypeScript fixes an inline
  // callback's parameter types at the first overload it tries (`keyOf`'s item was left unknown).
  // A synchronous caller passing an inline `keyOf` annotates its parameter.
  page<Item>(
    request: PageRequest,
    fetch: AsyncPageFetch<Item, SortKey<Kinds>>,
    keyOf: (item: Item) => SortKey<Kinds>,
  ): Promise<Page<Item>>;
  page<Item>(
    request: PageRequest,
    fetch: PageFetch<Item, SortKey<Kinds>>,
    keyOf: (item: Item) => SortKey<Kinds>,
  ): Page<Item>;
}

/**
 * The keyset pagination of the list `name`, whose items sort by a key of `kinds`. A cursor is the
 * base64url of `[name, ...key]`: opaque to clients, and a cursor of another list (or a made-up
 * one) is a 400 HTTP_INVALID_CURSOR rather than a page of something else.
 */
export function keyset<const Kinds extends readonly KeyKind[]>(name: string, kinds: Kinds): Keyset<Kinds> {
  const encode = (key: SortKey<Kinds>) => Buffer.from(JSON.stringify([name, ...key])).toString('base64url');
  const decode = (cursor: string): SortKey<Kinds> => {
    const parts = parseCursor(cursor);
    const fits =
      parts !== undefined &&
      parts.length === kinds.length + 1 &&
      parts[0] === name &&
      kinds.every((kind, i) => isKind(kind, parts[i + 1]));
    if (!fits) {
      throw new HttpProblem(
        400,
        'HTTP_INVALID_CURSOR',
        `"cursor" is not a cursor of this list: pass the "next" of one of its pages, unchanged`,
      );
    }
    return parts.slice(1) as SortKey<Kinds>;
  };
  function page<Item>(
    request: PageRequest,
    fetch: AsyncPageFetch<Item, SortKey<Kinds>>,
    keyOf: (item: Item) => SortKey<Kinds>,
  ): Promise<Page<Item>>;
  function page<Item>(
    request: PageRequest,
    fetch: PageFetch<Item, SortKey<Kinds>>,
    keyOf: (item: Item) => SortKey<Kinds>,
  ): Page<Item>;
  function page<Item>(
    request: PageRequest,
    fetch: (after: SortKey<Kinds> | undefined, take: number) => readonly Item[] | Promise<readonly Item[]>,
    keyOf: (item: Item) => SortKey<Kinds>,
  ): Page<Item> | Promise<Page<Item>> {
    const limit = request.limit ?? DEFAULT_PAGE_SIZE;
    const after = request.cursor === undefined ? undefined : decode(request.cursor);
    const cut = (rows: readonly Item[]): Page<Item> => {
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return { items, next: rows.length > limit && last !== undefined ? encode(keyOf(last)) : null };
    };
    // One more than the page: whether it exists says whether there is a next page.
    const rows = fetch(after, limit + 1);
    return Array.isArray(rows) ? cut(rows as readonly Item[]) : Promise.resolve(rows).then(cut);
  }
  return { page };
}

function parseCursor(cursor: string): unknown[] | undefined {
  // Buffer's base64url decoding skips what is not base64url: check the alphabet first.
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isKind(kind: KeyKind, value: unknown): boolean {
  return kind === 'integer' ? Number.isSafeInteger(value) : typeof value === 'string';
}

/**
 * Ascending order of two sort keys, part by part (strings by UTF-16 code units, which is SQLite's
 * binary order for the ASCII ids and names the kernel merges).
 */
function compareKeys(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [x, y] = [a[i], b[i]];
    if (x === y || x === undefined || y === undefined) continue;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * The first `take` items of several lists each in `order` (pages of one list read from several
 * databases, such as the kernel's per module), merged into that order.
 */
export function mergeSorted<Item>(
  lists: readonly (readonly Item[])[],
  keyOf: (item: Item) => readonly (string | number)[],
  order: 'asc' | 'desc',
  take: number,
): Item[] {
  const sign = order === 'asc' ? 1 : -1;
  return lists
    .flat()
    .sort((a, b) => sign * compareKeys(keyOf(a), keyOf(b)))
    .slice(0, take);
}

/**
 * A page of a list kept in several databases (the kernel's, one per module): each database's rows
 * after the cursor, merged in the list's order, then cut into the page.
 */
export function mergedPage<const Kinds extends readonly KeyKind[], Item>(
  pages: Keyset<Kinds>,
  request: PageRequest,
  order: 'asc' | 'desc',
  keyOf: (item: Item) => SortKey<Kinds>,
  fetches: readonly PageFetch<Item, SortKey<Kinds>>[],
): Page<Item> {
  return pages.page(
    request,
    (after, take) =>
      mergeSorted(
        fetches.map((fetch) => fetch(after, take)),
        keyOf,
        order,
        take,
      ),
    keyOf,
  );
}

/** The page with each item mapped (rows read with their sort key, answered as views). */
export function mapPage<Item, View>(page: Page<Item>, view: (item: Item) => View): Page<View> {
  return { items: page.items.map(view), next: page.next };
}

/**
 * `path` asking for the page after `cursor` (the first page without one), `limit` items a page:
 * what a client of these lists sends.
 */
export function pagePath(path: string, cursor: string | undefined, limit = MAX_PAGE_SIZE): string {
  const after = cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`;
  return `${path}${path.includes('?') ? '&' : '?'}limit=${limit}${after}`;
}

/**
 * Every item of a list, page after page, as a client reads one: `readPage` answers the page after
 * `cursor` (the first page without one), until a page's `next` is null.
 */
export async function collectPages<Item>(
  readPage: (cursor: string | undefined) => Promise<Page<Item>>,
): Promise<Item[]> {
  const items: Item[] = [];
  let cursor: string | undefined;
  do {
    const page = await readPage(cursor);
    items.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return items;
}
