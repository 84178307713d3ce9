import { describe, expect, it } from 'vitest';
import { FirstConnectionRefusals } from './refusals.js';

const LOGIN = 'login of user "app" refused (403 ACCESS_REFUSED: …)';
const VHOST = 'virtual host "shop" not found or not open to user "app" (530 NOT_ALLOWED)';

describe('refusals of a first connection across a node list', () => {
  it('one node: its refusal is the verdict at once', () => {
    const refusals = new FirstConnectionRefusals(1);
    refusals.record(0, LOGIN);
    expect(refusals.verdict()).toEqual({ node: 0, cause: LOGIN });
  });

  it('several nodes: no verdict until every node was tried, then the first refusal in list order', () => {
    const refusals = new FirstConnectionRefusals(3);
    refusals.record(1, VHOST);
    refusals.record(2, undefined); // down
    expect(refusals.verdict()).toBeUndefined();
    expect(refusals.first()).toEqual({ node: 1, cause: VHOST });
    refusals.record(0, LOGIN);
    expect(refusals.verdict()).toEqual({ node: 0, cause: LOGIN });
  });

  it('a node whose latest answer is transient no longer counts as refusing', () => {
    const refusals = new FirstConnectionRefusals(2);
    refusals.record(0, LOGIN);
    refusals.record(0, undefined); // rebuilt and rejoined: now it is only down
    refusals.record(1, undefined);
    expect(refusals.verdict()).toBeUndefined();
  });
});
