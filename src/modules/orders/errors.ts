/** The problem codes of the orders routes (served at /docs/errors). */
export const ordersErrors = {
  ORDERS_UNKNOWN_SKU:
    "An item names a SKU the orders catalogue does not know. The catalogue is a copy of inventory's products, kept from its events: a product created a moment ago may take a moment to arrive. Check the SKU, or try again shortly.",
  ORDERS_QUANTITY_OVER_LIMIT:
    'Lines of the same SKU are merged into one, and their quantities add up to more than one line may hold (1000). Order fewer.',
  ORDERS_RATE_LIMITED:
    'This user placed as many orders as ORDERS_PER_USER_PER_MINUTE allows in the last minute: wait the seconds `retry-after` gives.',
  ORDERS_IDEMPOTENCY_KEY_REUSED:
    'This Idempotency-Key was used by this user for a different order. Send the same body again to get that order back, or a new key for a new order.',
  ORDERS_NOT_FOUND: "No order of the caller has this id (another user's orders are not found either).",
} as const;
