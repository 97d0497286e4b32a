import { describe, expect, it } from 'vitest';

import {
  duplicates,
  findCell,
  ICellInfo,
  insertIndex
} from '../src/cellPlacement';
import type { CellRole, ICellTag } from '../src/cells';

const ours = (
  run_id: string,
  role: CellRole,
  step = 0,
  thread_id = 't'
): ICellInfo => ({
  id: `${run_id}-${role}-${step}`,
  tag: { run_id, role, step, thread_id },
  blank: false
});
const user = (id: string, blank = false): ICellInfo => ({
  id,
  tag: null,
  blank
});
const tags = (cells: ICellInfo[]): (ICellTag | null)[] => cells.map(c => c.tag);

describe('where a run cell goes', () => {
  it('after the run’s last cell', () => {
    const cells = [
      user('a'),
      ours('r', 'prompt'),
      ours('r', 'code', 1),
      user('b')
    ];
    expect(insertIndex(cells, { runId: 'r', role: 'code' })).toBe(3);
  });

  it('a code cell above the run’s answer, the answer below everything of the run', () => {
    const cells = [
      ours('r', 'prompt'),
      ours('r', 'code', 1),
      ours('r', 'answer')
    ];
    expect(insertIndex(cells, { runId: 'r', role: 'code' })).toBe(2);
    expect(insertIndex(cells, { runId: 'r', role: 'answer' })).toBe(3);
  });

  it('a new run below its thread’s last cell, by tag or by the thread’s runs', () => {
    const cells = [
      user('a'),
      ours('r1', 'answer', 0, 't'),
      user('b'),
      ours('x', 'answer', 0, 'other'),
      user('c')
    ];
    expect(
      insertIndex(cells, { runId: 'r2', role: 'prompt', threadId: 't' })
    ).toBe(2);
    expect(
      insertIndex(cells, { runId: 'r2', role: 'prompt', threadRuns: ['x'] })
    ).toBe(4);
  });

  it('below the anchor cell (the %%interpret cell) before the thread', () => {
    const cells = [user('magic'), user('b'), ours('r1', 'answer')];
    expect(
      insertIndex(cells, {
        runId: 'r2',
        role: 'code',
        threadId: 't',
        anchorId: 'magic'
      })
    ).toBe(1);
    expect(
      insertIndex(cells, { runId: 'r2', role: 'code', anchorId: 'gone' })
    ).toBe(3);
  });

  it('at the end, above the empty code cells the user left there', () => {
    const cells = [user('a'), user('b', true), user('c', true)];
    expect(insertIndex(cells, { runId: 'r', role: 'prompt' })).toBe(1);
    expect(
      insertIndex([user('only', true)], { runId: 'r', role: 'prompt' })
    ).toBe(1);
    expect(insertIndex([], { runId: 'r', role: 'prompt' })).toBe(0);
  });
});

describe('finding and deduplicating run cells', () => {
  const cells = [
    user('a'),
    ours('r', 'prompt'),
    ours('r', 'code', 1),
    ours('r', 'code', 1),
    ours('r', 'code', 2),
    ours('r', 'prompt')
  ];

  it('finds a cell by its key', () => {
    expect(findCell(tags(cells), 'r/code/2')).toBe(4);
    expect(findCell(tags(cells), 'r/answer/0')).toBe(-1);
  });

  it('keeps the first of cells sharing a key, and lists the others last first', () => {
    expect(duplicates(tags(cells))).toEqual([5, 3]);
    expect(duplicates(tags([cells[0], cells[1], cells[2]]))).toEqual([]);
  });
});
