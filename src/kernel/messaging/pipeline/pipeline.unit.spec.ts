import { describe, expect, it } from 'vitest';
import { createEnvelope, type Envelope } from '../envelope.js';
import type { DeliveryOutcome } from '../transport.js';
import { compose, Delivery, type DeliveryHandler, HANDLED, type Middleware } from './pipeline.js';

/** A step that records its name on the way in and on the way out. */
const recording =
  (name: string, trace: string[]): Middleware =>
  (next) =>
  async (delivery) => {
    trace.push(`${name} in`);
    const outcome = await next(delivery);
    trace.push(`${name} out`);
    return outcome;
  };

const terminal =
  (trace: string[]): DeliveryHandler =>
  async () => {
    trace.push('handler');
    return HANDLED;
  };

const delivery = () => new Delivery('{}', 1, undefined);

describe('compose', () => {
  it('runs the middlewares in list order around the terminal handler, the first one outermost', async () => {
    const trace: string[] = [];
    const deliver = compose(
      [recording('a', trace), recording('b', trace), recording('c', trace)],
      terminal(trace),
    );
    expect(await deliver(delivery())).toBe(HANDLED);
    expect(trace).toEqual(['a in', 'b in', 'c in', 'handler', 'c out', 'b out', 'a out']);
  });

  it('lets a middleware return without calling next: the steps after it and the handler do not run', async () => {
    const trace: string[] = [];
    const duplicate: DeliveryOutcome = { kind: 'duplicate' };
    const shortCircuit: Middleware = () => async () => {
      trace.push('short-circuit');
      return duplicate;
    };
    const deliver = compose([recording('a', trace), shortCircuit, recording('c', trace)], terminal(trace));
    expect(await deliver(delivery())).toBe(duplicate);
    expect(trace).toEqual(['a in', 'short-circuit', 'a out']);
  });

  it('is the terminal handler itself when the list is empty', () => {
    const handler = terminal([]);
    expect(compose([], handler)).toBe(handler);
  });

  it('builds the chain once: a delivery calls the handlers the middlewares returned, not the middlewares', async () => {
    let built = 0;
    const counted: Middleware = (next) => {
      built++;
      return next;
    };
    const deliver = compose([counted, counted], terminal([]));
    await deliver(delivery());
    await deliver(delivery());
    expect(built).toBe(2);
  });

  it('passes the same delivery down the chain, so what decode sets is seen by the steps before it', async () => {
    const envelope = createEnvelope(
      { type: 'source.thing-happened', schemaversion: 1, partitionkey: 'k', data: {} },
      'source',
      { correlationId: 'c1', causationId: null },
    );
    let seenOnTheWayOut: Envelope | undefined;
    const outer: Middleware = (next) => async (d) => {
      const outcome = await next(d);
      seenOnTheWayOut = d.envelopeIfDecoded;
      return outcome;
    };
    const decoding: Middleware = (next) => (d) => {
      d.decodedAs(envelope);
      return next(d);
    };
    await compose([outer, decoding], async (d) =>
      d.envelope === envelope ? HANDLED : { kind: 'duplicate' },
    )(delivery());
    expect(seenOnTheWayOut).toBe(envelope);
  });
});

describe('Delivery', () => {
  it('refuses to give its envelope before decode, so a step placed before decode fails loudly', () => {
    const undecoded = delivery();
    expect(undecoded.envelopeIfDecoded).toBeUndefined();
    expect(() => undecoded.envelope).toThrow(/not decoded yet/);
  });
});
