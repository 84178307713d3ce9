/** The problem codes of the webhooks routes (served at /docs/errors). */
export const webhooksErrors = {
  WEBHOOKS_UNKNOWN_EVENT:
    'An event type the webhook names is not an event of this system (see /asyncapi.json).',
  WEBHOOKS_EVENT_NOT_ALLOWED:
    'Events about no user (the product events) go to webhooks of admins only: a user cannot subscribe to them.',
  WEBHOOKS_INVALID_URL: 'The url is not an absolute http or https URL.',
  WEBHOOKS_PRIVATE_TARGET:
    "The url's host resolves to a private, loopback or link-local address, which webhooks do not call (unless the server runs with WEBHOOKS_ALLOW_PRIVATE=1, for development).",
  WEBHOOKS_UNRESOLVABLE_TARGET: "The url's host does not resolve to an address.",
  WEBHOOKS_BUS_UNAVAILABLE:
    "The message bus did not take the routes of the webhook's events, so nothing was created: try again after the seconds `retry-after` gives.",
  WEBHOOKS_LIMIT_REACHED:
    'The caller already has as many webhooks as one user may (WEBHOOKS_PER_USER_MAX, 20 by default): delete one to create another.',
  WEBHOOKS_NOT_FOUND: 'No webhook of the caller has this id.',
} as const;
