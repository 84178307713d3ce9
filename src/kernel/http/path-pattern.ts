/**
 * Whether a request path falls under a route's path as routes are written here: segment by
 * segment, a `:name` segment matches any one non-empty segment, and a last segment `*` matches
 * the rest of the path, empty or not (`/docs/*` matches `/docs/` and `/docs/static/x.css`).
 */
export function matchesPath(pattern: string, path: string): boolean {
  const expected = pattern.split('/');
  const actual = path.split('/');
  const wildcard = expected.at(-1) === '*';
  if (wildcard ? actual.length < expected.length : actual.length !== expected.length) return false;
  return expected.every((segment, i) => {
    if (wildcard && i === expected.length - 1) return true;
    return segment.startsWith(':') ? actual[i] !== '' : segment === actual[i];
  });
}
