import { describe, expect, it } from 'vitest';

import {
  awarenessOf,
  IAwareness,
  WriterClaim,
  writerOf
} from '../src/writerClaim';

/** A stand-in for a Yjs awareness shared by several clients (plain data, no network). */
type State = Record<string, { following?: string[] }>;

class Room {
  states = new Map<number, State>();
  handlers: ((changes: { added?: number[] }) => void)[] = [];

  join(clientID: number): IAwareness {
    this.states.set(clientID, {});
    const awareness: IAwareness = {
      clientID,
      getStates: () => this.states,
      setLocalStateField: (field, value) => {
        this.states.set(clientID, {
          ...this.states.get(clientID),
          [field]: value as State[string]
        });
      },
      on: (_event, handler) => this.handlers.push(handler)
    };
    this.handlers.forEach(h => h({ added: [clientID] }));
    return awareness;
  }
}

describe('one writer per run among collaborating tabs', () => {
  it('is the lowest client id among the followers of the run', () => {
    const states = new Map<number, State>([
      [5, { codeinterp: { following: ['r1'] } }],
      [3, { codeinterp: { following: ['r2'] } }],
      [9, {}]
    ]);
    expect(writerOf(states, 'r1', 7)).toBe(5);
    expect(writerOf(states, 'r1', 4)).toBe(4);
    expect(writerOf(states, 'r3', 7)).toBe(7);
  });

  it('a page alone (no awareness) writes every run', () => {
    const claim = new WriterClaim(() => null);
    claim.follow('r');
    expect([claim.shared, claim.mayWrite('r')]).toEqual([false, true]);
  });

  it('hands the run over when its writer stops following it', () => {
    const room = new Room();
    const low = new WriterClaim(() => a);
    const high = new WriterClaim(() => b);
    const a = room.join(1);
    const b = room.join(2);
    high.follow('r');
    expect(high.mayWrite('r')).toBe(true);
    low.follow('r');
    expect([low.mayWrite('r'), high.mayWrite('r')]).toEqual([true, false]);
    low.unfollow('r');
    expect(high.mayWrite('r')).toBe(true);
  });

  it('counts follows: a run followed twice is followed until unfollowed twice', () => {
    const room = new Room();
    const a = room.join(1);
    const claim = new WriterClaim(() => a);
    claim.follow('r');
    claim.follow('r');
    claim.unfollow('r');
    expect(room.states.get(1)!.codeinterp.following).toEqual(['r']);
    claim.unfollow('r');
    expect(room.states.get(1)!.codeinterp.following).toEqual([]);
  });

  it('publishes its runs again for a newcomer', () => {
    const room = new Room();
    const a = room.join(1);
    new WriterClaim(() => a).follow('r');
    room.states.set(1, {}); // what a newcomer sees before anything is published again
    room.join(2);
    expect(room.states.get(1)!.codeinterp.following).toEqual(['r']);
  });

  it('finds the awareness of a shared document only when it has one', () => {
    expect(awarenessOf(undefined)).toBeNull();
    expect(awarenessOf({ awareness: {} })).toBeNull();
    const room = new Room();
    const a = room.join(1);
    expect(awarenessOf({ awareness: a })).toBe(a);
  });
});
