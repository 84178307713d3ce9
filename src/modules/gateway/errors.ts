/** The problem codes the gateway answers with for the routes it proxies (served at /docs/errors). */
export const gatewayErrors = {
  GATEWAY_NO_INSTANCE:
    'No live instance of the module that serves this path is registered: it is starting or down. Try again after the seconds `retry-after` gives.',
  GATEWAY_TIMEOUT:
    'The instance did not start its answer within GATEWAY_TIMEOUT_MS. The request may have been done: check before repeating it.',
  GATEWAY_UPSTREAM_FAILED:
    'The connection to the instance broke before it answered. The request may have been done: check before repeating it.',
} as const;
