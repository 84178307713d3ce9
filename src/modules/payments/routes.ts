import { type TProperties, Type } from 'typebox';
import {
  authenticate,
  type HttpApp,
  HttpProblem,
  type ModuleContext,
  PageOf,
  PageQuery,
} from '../../kernel/index.js';
import { depositFunds } from './commands/deposit-funds.js';
import { balanceOf, eventsOf } from './queries.js';

const strict = { additionalProperties: false } as const;
const Cents = Type.Integer({ minimum: 0 });
const OrderId = Type.String();

const DepositBody = Type.Object(
  { amountCents: Type.Integer({ minimum: 1, maximum: 100_000_000_000 }) },
  strict,
);
const AccountQuery = Type.Object(
  {
    at: Type.Optional(
      Type.String({ description: 'ISO-8601 date-time with a time zone, e.g. 2025-01-31T12:00:00Z' }),
    ),
  },
  strict,
);
const Balance = Type.Object({ balanceCents: Type.Integer(), version: Type.Integer({ minimum: 0 }) }, strict);

const event = (type: string, data: TProperties) =>
  Type.Object(
    {
      version: Type.Integer({ minimum: 1 }),
      type: Type.Literal(type),
      data: Type.Object(data, strict),
      occurredAt: Type.String({ description: 'ISO-8601 date-time' }),
    },
    strict,
  );
const AccountEvents = PageOf(
  Type.Union([
    event('FundsDeposited', { amountCents: Cents }),
    event('PaymentCharged', { orderId: OrderId, amountCents: Cents }),
    event('PaymentFailed', { orderId: OrderId, amountCents: Cents, reason: Type.String() }),
    event('PaymentRefunded', { orderId: OrderId, amountCents: Cents }),
    event('OrderClosed', { orderId: OrderId }),
  ]),
);

const tags = ['payments'];
const security = [{ bearer: [] }];
/** RFC 3339 (the internet profile of ISO 8601): a date, a time, and a zone. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

const isCalendarDate = (year: number, month: number, day: number) => {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
};

/**
 * Epoch ms of an ISO-8601 date-time with a zone, or a 400 PAYMENTS_INVALID_AT. A space before a
 * trailing offset is read as the `+` it was before URL decoding (`?at=…T10:00:00+02:00` unencoded).
 */
export function parseAt(raw: string): number {
  const at = raw.replace(/ (\d{2}:\d{2})$/, '+$1');
  const match = DATE_TIME.exec(at);
  const ms = match ? Date.parse(at) : Number.NaN;
  if (!match || Number.isNaN(ms) || !isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]))) {
    throw new HttpProblem(
      400,
      'PAYMENTS_INVALID_AT',
      `"at" must be an ISO-8601 date-time with a time zone, such as 2025-01-31T12:00:00Z (got "${raw}")`,
    );
  }
  return ms;
}

export function paymentsRoutes(app: HttpApp, ctx: ModuleContext): void {
  app.post(
    '/payments/deposits',
    {
      onRequest: authenticate,
      schema: {
        tags,
        security,
        summary: 'Add funds to the caller’s account',
        body: DepositBody,
        response: { 201: Type.Object({ balanceCents: Type.Integer() }, strict) },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await depositFunds(ctx, { userId: request.user.sub, amountCents: request.body.amountCents })),
  );

  app.get(
    '/payments/account',
    {
      onRequest: authenticate,
      schema: {
        tags,
        security,
        summary: 'The balance, now or as of `at` (replayed from the event stream)',
        querystring: AccountQuery,
        response: { 200: Balance },
      },
    },
    async (request) => {
      const at = request.query.at === undefined ? undefined : parseAt(request.query.at);
      return balanceOf(ctx.db, request.user.sub, at);
    },
  );

  app.get(
    '/payments/account/events',
    {
      onRequest: authenticate,
      schema: {
        tags,
        security,
        summary: 'The account’s event stream, oldest first, a page at a time',
        querystring: PageQuery(),
        response: { 200: AccountEvents },
      },
    },
    async (request) => eventsOf(ctx.db, request.user.sub, request.query),
  );
}
