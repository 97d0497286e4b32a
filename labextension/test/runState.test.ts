import { describe, expect, it } from 'vitest';

import type { RunEvent } from '../src/events';
import { applyEvent, newRunState } from '../src/runState';

const at = (seq: number, event: Record<string, unknown>): RunEvent =>
  ({ seq, run_id: 'r1', time: 100 + seq, ...event }) as unknown as RunEvent;

describe('the run fold', () => {
  it('applies each event once, in order', () => {
    const state = newRunState('r1');
    const started = at(1, {
      type: 'run_started',
      thread_id: 't',
      prompt: 'p',
      model: 'm'
    });
    expect(applyEvent(state, started)).toBe(true);
    expect(applyEvent(state, started)).toBe(false);
    applyEvent(state, at(2, { type: 'text_delta', delta: 'Hel' }));
    applyEvent(state, at(3, { type: 'text_delta', delta: 'lo' }));
    expect(state.items).toEqual([{ kind: 'text', text: 'Hello' }]);
  });

  it('takes back the text of a cut-off reply that is asked again', () => {
    const state = newRunState('r1');
    applyEvent(state, at(1, { type: 'text_delta', delta: 'The answer is 4' }));
    applyEvent(
      state,
      at(2, {
        type: 'notice',
        level: 'warning',
        message: 'cut',
        retract_text: 'The answer is 4'
      })
    );
    applyEvent(
      state,
      at(3, { type: 'text_delta', delta: 'The answer is 42.' })
    );
    expect(state.items).toEqual([
      { kind: 'notice', level: 'warning', message: 'cut' },
      { kind: 'text', text: 'The answer is 42.' }
    ]);
  });
});
