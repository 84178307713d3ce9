import { describe, expect, it } from 'vitest';
import {
  bookRoom,
  cancelSeat,
  noRoom,
  reserveSeat,
  roomBooked,
  seatCancelled,
  seatReserved,
  tripRequested,
  tripSaga,
} from '../testing/fixtures/trip.js';
import { STEP_TIMEOUT, sagaSpec } from '../testing/index.js';

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
    const done = spec.given(tripRequested(trip), seatReserved(trip), noRoom(trip)).when(seatCancelled(trip));
    expect(done.instance?.status).toBe('compensated');
    expect(done.instance?.reason).toBe('no_room');
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
