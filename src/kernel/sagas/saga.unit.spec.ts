import { describe, expect, it } from 'vitest';
import type { Envelope } from '../messaging/envelope.js';
import {
  bookRoom,
  cancelRoom,
  cancelSeat,
  noRoom,
  reserveSeat,
  roomBooked,
  roomCancelled,
  seatCancelled,
  seatReserved,
  tripRequested,
  tripSaga,
} from '../testing/fixtures/trip.js';
import { envelopeOf, STEP_TIMEOUT, sagaSpec } from '../testing/index.js';
import { type SagaInstance, undo } from './saga.js';
import { stepTimedOut, transitionSaga } from './transition.js';

const trip = { tripId: 't1', city: 'Oslo' };
const spec = sagaSpec(tripSaga);

describe('saga transitions (given/when/then, no I/O)', () => {
  it('starts on its start message and sends the first step', () => {
    const { instance, sentTypes } = spec.given().when(tripRequested(trip));
    expect(instance?.status).toBe('running');
    expect(instance?.step).toBe('seat');
    expect(sentTypes).toEqual([reserveSeat.type]);
    expect(instance?.deadline).toBeGreaterThan(Date.now());
  });

  it('ignores a reply when no instance exists', () => {
    expect(spec.given().when(seatReserved(trip)).instance).toBeUndefined();
  });

  it('completes the happy path', () => {
    const { instance, sentTypes } = spec
      .given(tripRequested(trip), seatReserved(trip))
      .when(roomBooked(trip));
    expect(instance?.status).toBe('completed');
    expect(instance?.deadline).toBeNull();
    expect(sentTypes).toEqual([]);
  });

  it('compensates the completed steps when a later step fails, but not the failed step itself', () => {
    const failed = spec.given(tripRequested(trip), seatReserved(trip)).when(noRoom(trip));
    expect(failed.instance?.status).toBe('compensating');
    expect(failed.instance?.reason).toBe('no_room');
    expect(failed.sentTypes).toEqual([cancelSeat.type]);
    expect(failed.instance?.awaiting).toEqual([seatCancelled.type]);
    const done = spec.given(tripRequested(trip), seatReserved(trip), noRoom(trip)).when(seatCancelled(trip));
    expect(done.instance?.status).toBe('compensated');
    expect(done.instance?.reason).toBe('no_room');
    expect(done.instance?.awaiting).toEqual([]);
  });

  it('on a step timeout also undoes the current step, whose effect is unknown', () => {
    const { instance, sentTypes } = spec.given(tripRequested(trip)).when(STEP_TIMEOUT);
    expect(instance?.status).toBe('compensating');
    expect(instance?.reason).toBe('timeout');
    expect(sentTypes).toEqual([cancelSeat.type]);
  });

  it('finishes as compensated at once when nothing needs undoing', () => {
    // the seat step failed (no_room while reserving): it is not undone, and no step before it
    const { instance, sentTypes } = spec.given(tripRequested(trip)).when(noRoom(trip));
    expect(sentTypes).toEqual([]);
    expect(instance?.status).toBe('compensated');
    expect(instance?.reason).toBe('no_room');
  });

  it('fails when compensation itself times out', () => {
    const { instance } = spec.given(tripRequested(trip), STEP_TIMEOUT).when(STEP_TIMEOUT);
    expect(instance?.status).toBe('failed');
    expect(instance?.reason).toBe('compensation_timeout');
  });

  it('ignores messages once finished', () => {
    const { instance, sentTypes } = spec
      .given(tripRequested(trip), seatReserved(trip), roomBooked(trip))
      .when(noRoom(trip));
    expect(instance?.status).toBe('completed');
    expect(sentTypes).toEqual([]);
  });

  it('sends nothing it was not asked to', () => {
    expect(spec.given(tripRequested(trip)).when(seatReserved(trip)).sentTypes).toEqual([bookRoom.type]);
  });
});

describe('compensation, seen through by the kernel', () => {
  const roomTimedOut = [tripRequested(trip), seatReserved(trip), STEP_TIMEOUT] as const;

  it('records each step with its compensation and the reply that compensation awaits', () => {
    const { instance } = spec.given(tripRequested(trip)).when(seatReserved(trip));
    expect(instance?.steps).toEqual([
      { step: 'seat', compensation: [undo(cancelSeat(trip), seatCancelled)] },
      { step: 'room', compensation: [undo(cancelRoom(trip), roomCancelled)] },
    ]);
    expect(instance?.steps[0]?.compensation[0]?.awaitsReply).toBe(seatCancelled.type);
  });

  it('sends every compensation newest first and awaits the reply of each', () => {
    const { instance, sentTypes } = spec.given(tripRequested(trip), seatReserved(trip)).when(STEP_TIMEOUT);
    expect(sentTypes).toEqual([cancelRoom.type, cancelSeat.type]);
    expect(instance).toMatchObject({ status: 'compensating', reason: 'timeout' });
    expect(instance?.awaiting).toEqual([roomCancelled.type, seatCancelled.type]);
  });

  it('finishes compensated only once every awaited reply has arrived, in either order', () => {
    for (const [first, last] of [
      [seatCancelled(trip), roomCancelled(trip)],
      [roomCancelled(trip), seatCancelled(trip)],
    ] as const) {
      const half = spec.given(...roomTimedOut).when(first);
      expect(half.instance).toMatchObject({ status: 'compensating', awaiting: [last.type] });
      expect(half.instance?.deadline).not.toBeNull();
      expect(half.sentTypes).toEqual([]);
      const done = spec.given(...roomTimedOut, first).when(last);
      expect(done.instance).toMatchObject({ status: 'compensated', reason: 'timeout', awaiting: [] });
      expect(done.instance?.deadline).toBeNull();
      expect(done.sentTypes).toEqual([]);
    }
  });

  it('does not finish on a repeated reply, an unrelated one, or another instance’s', () => {
    const other = { tripId: 't2', city: 'Oslo' };
    for (const stray of [seatCancelled(trip), roomBooked(trip), noRoom(trip), roomCancelled(other)]) {
      const { instance, sentTypes } = spec.given(...roomTimedOut, seatCancelled(trip)).when(stray);
      expect(instance).toMatchObject({ status: 'compensating', awaiting: [roomCancelled.type] });
      expect(sentTypes).toEqual([]);
    }
  });

  it('keeps the deadline of the compensation when a reply is checked off: a partial answer buys no time', () => {
    let instance: SagaInstance<unknown> | undefined;
    const at = (now: number, message: Envelope | typeof STEP_TIMEOUT) => {
      const received = message === STEP_TIMEOUT && instance ? stepTimedOut(instance, now) : message;
      if (received === STEP_TIMEOUT) throw new Error('a timeout needs an instance');
      instance = transitionSaga(tripSaga, instance, received, now, 1000)?.instance;
      return instance?.deadline;
    };
    at(0, envelopeOf(tripRequested(trip)));
    expect(at(10, envelopeOf(seatReserved(trip)))).toBe(310); // the fixture's stepTimeoutMs is 300
    expect(at(400, STEP_TIMEOUT)).toBe(700);
    expect(at(600, envelopeOf(seatCancelled(trip)))).toBe(700);
    expect(instance?.status).toBe('compensating');
  });

  it('fails on a timeout while compensating, naming the replies that never came', () => {
    const { instance, sentTypes } = spec.given(...roomTimedOut, seatCancelled(trip)).when(STEP_TIMEOUT);
    expect(instance).toMatchObject({ status: 'failed', reason: 'compensation_timeout', deadline: null });
    expect(instance?.awaiting).toEqual([roomCancelled.type]);
    expect(sentTypes).toEqual([]);
  });

  it('refuses a step whose compensation awaits a reply the saga does not handle', () => {
    const deaf = sagaSpec({ ...tripSaga, handles: [seatReserved, roomBooked, noRoom] });
    expect(() => deaf.given().when(tripRequested(trip))).toThrow(/awaits flights.seat-cancelled/);
  });

  it('sends a compensation stored before replies were named, and finishes without waiting for it', () => {
    let instance = transitionSaga(tripSaga, undefined, envelopeOf(tripRequested(trip)), 0, 1000)?.instance;
    instance = transitionSaga(tripSaga, instance, envelopeOf(seatReserved(trip)), 1, 1000)?.instance;
    if (!instance) throw new Error('no instance');
    // as the store reads a row of an instance in flight across the upgrade
    const legacy: SagaInstance<unknown> = {
      ...instance,
      steps: instance.steps.map(({ step, compensation }) => ({
        step,
        compensation: compensation.map((c) => ({ message: c.message, awaitsReply: null })),
      })),
    };
    const transition = transitionSaga(tripSaga, legacy, stepTimedOut(legacy, 500), 500, 1000);
    expect(transition?.send.map((m) => m.type)).toEqual([cancelRoom.type, cancelSeat.type]);
    expect(transition?.instance).toMatchObject({ status: 'compensated', reason: 'timeout', awaiting: [] });
    expect(transition?.finished).toBe(true);
  });
});
