import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  capCellText,
  cutNote,
  endMarkdown,
  runCells,
  tagKey
} from '../src/cells';
import type { RunEvent } from '../src/events';
import { applyEvent, newRunState } from '../src/runState';

/** Golden fixtures shared with the Python suite: real CLI runs and the cells they must give. */
const FIXTURES = join(__dirname, '..', '..', 'tests', 'fixtures', 'cells');

interface IFixture {
  events: RunEvent[];
  checkpoints: { after_seq: number; cells: unknown[] }[];
  cells: unknown[];
}

const fixtures = readdirSync(FIXTURES)
  .filter(name => name.endsWith('.json'))
  .map(name => ({
    name,
    fixture: JSON.parse(readFileSync(join(FIXTURES, name), 'utf-8')) as IFixture
  }));

/** The cells as JSON (what nbformat and the Python side see). */
const cellsAfter = (events: RunEvent[], count = events.length) => {
  const state = newRunState();
  for (const event of events.slice(0, count)) {
    applyEvent(state, event);
  }
  return JSON.parse(JSON.stringify(runCells(state)));
};

describe('the cells of a run, as the Python CLI writes them', () => {
  it('has fixtures to check', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(3);
  });

  for (const { name, fixture } of fixtures) {
    it(`${name}: the final cells`, () => {
      expect(cellsAfter(fixture.events)).toStrictEqual(fixture.cells);
    });

    it(`${name}: the cells while the run streams`, () => {
      expect(fixture.checkpoints.length).toBeGreaterThan(0);
      for (const checkpoint of fixture.checkpoints) {
        expect(cellsAfter(fixture.events, checkpoint.after_seq)).toStrictEqual(
          checkpoint.cells
        );
      }
    });

    it(`${name}: replaying the log changes nothing`, () => {
      const state = newRunState();
      for (const event of [...fixture.events, ...fixture.events]) {
        applyEvent(state, event);
      }
      expect(JSON.parse(JSON.stringify(runCells(state)))).toStrictEqual(
        fixture.cells
      );
    });
  }
});

describe('the cells, rule by rule', () => {
  const events = (...list: Record<string, unknown>[]) =>
    list.map(
      (e, i) =>
        ({ seq: i + 1, run_id: 'r', time: i, ...e }) as unknown as RunEvent
    );
  const started = {
    type: 'run_started',
    thread_id: 't',
    prompt: 'Plot it\nplease',
    model: 'm'
  };
  const fold = (list: RunEvent[]) => {
    const state = newRunState();
    list.forEach(e => applyEvent(state, e));
    return state;
  };

  it('a skipped step loses the cell it had while its code streamed', () => {
    const log = events(
      started,
      { type: 'step', step: 1, stage: 'started' },
      { type: 'step', step: 1, stage: 'code_delta', delta: 'x = 1' },
      {
        type: 'step',
        step: 1,
        stage: 'completed',
        code: 'x = 1',
        outputs: [],
        status: 'skipped',
        execution_count: null
      }
    );
    const keys = (list: RunEvent[]) =>
      runCells(fold(list)).map(c => tagKey(c.metadata.codeinterp));
    expect(keys(log.slice(0, 3))).toEqual(['r/prompt/0', 'r/code/1']);
    expect(keys(log)).toEqual(['r/prompt/0']);
  });

  it('a run that did not complete ends with a note saying why', () => {
    const ended = (status: string, reason: string) =>
      endMarkdown(
        fold(
          events(started, {
            type: 'run_ended',
            status,
            reason,
            answer: '',
            usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
            steps: 0
          })
        )
      );
    expect(ended('failed', 'The model is unreachable.')).toBe(
      '**Run failed:** The model is unreachable.'
    );
    expect(ended('cancelled', 'Cancelled by the user.')).toBe(
      '**Run stopped:** Cancelled by the user.'
    );
    expect(ended('failed', '')).toBe('**Run failed.**');
    expect(ended('completed', '')).toBeNull();
  });

  it('cells are tagged with the thread, and as ended once the run is over', () => {
    const live = runCells(fold(events(started)));
    expect(live[0].metadata.codeinterp).toStrictEqual({
      run_id: 'r',
      step: 0,
      role: 'prompt',
      thread_id: 't'
    });
    expect(live[0].source).toBe(
      '**Code Interpreter prompt**\n\n> Plot it\n> please'
    );
    const over = runCells(
      fold(
        events(started, {
          type: 'run_ended',
          status: 'completed',
          reason: '',
          answer: 'Done.',
          usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
          steps: 0
        })
      )
    );
    expect(over.map(c => c.metadata.codeinterp.ended)).toEqual([true, true]);
    expect(over[1].source).toBe('Done.');
  });

  it('writes only the roles asked for', () => {
    const state = fold(
      events(started, { type: 'step', step: 1, stage: 'started' })
    );
    expect(runCells(state, new Set(['code'])).map(c => c.cell_type)).toEqual([
      'code'
    ]);
  });
});

describe('a cell keeps about what JupyterLab would (the twin of cells.py)', () => {
  it('cuts text at a line end and says so once the step ends', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join('');
    const image = {
      output_type: 'display_data',
      data: { 'image/png': 'iVBOR', 'text/plain': '<Figure>' },
      metadata: {}
    };
    const outputs = [
      { output_type: 'stream', name: 'stdout', text: lines },
      image
    ] as any[];
    const running = capCellText(outputs, false, 100);
    expect((running[0] as any).text).toBe(
      Array.from({ length: 13 }, (_, i) => `line ${i}\n`).join('')
    );
    expect(running).toHaveLength(2);
    const ended = capCellText(outputs, true, 100);
    expect(ended.slice(0, 2)).toEqual(running);
    expect((ended[2] as any).text).toContain('696 more characters');
    expect((ended[2] as any).text).toBe(cutNote(696));
    expect(capCellText(outputs, true, 10_000)).toEqual(outputs);
  });
});
