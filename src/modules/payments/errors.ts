/** The problem codes of the payments routes (served at /docs/errors). */
export const paymentsErrors = {
  PAYMENTS_INVALID_AT:
    '`at` must be an ISO-8601 date-time with a time zone, such as 2025-01-31T12:00:00Z: the account as it stood then.',
} as const;
