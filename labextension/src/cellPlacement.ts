/**
 * Where a run's cells are in a notebook and where a new one goes, as pure functions of the
 * notebook's cells (their tags, ids and whether they are empty), so they are tested without
 * JupyterLab. The writer finds a cell by its tag key before inserting one: never a duplicate.
 */

import { CellRole, ICellTag, tagKey } from './cells';

/** What placement needs to know of one notebook cell. */
export interface ICellInfo {
  id: string;
  tag: ICellTag | null;
  /** An empty code cell of the user's (trailing ones are left below our cells). */
  blank: boolean;
}

/** The index of our cell with this key among the notebook's cell tags, or -1. */
export function findCell(
  tags: readonly (ICellTag | null)[],
  key: string
): number {
  return tags.findIndex(tag => tag !== null && tagKey(tag) === key);
}

export interface IPlacement {
  runId: string;
  role: CellRole;
  /** The run's thread: a run with no cell yet goes below the last cell tagged with it... */
  threadId?: string;
  /** ...or of one of these runs of the thread (cells written before tags carried the thread). */
  threadRuns?: Iterable<string>;
  /** The cell below which a run with no cell yet goes (the `%%interpret` cell). */
  anchorId?: string | null;
}

/**
 * Where a new cell of a run goes: after the run's last cell (a code cell above the run's answer),
 * else below the anchor cell, else after the thread's last cell, else at the end of the notebook,
 * above any empty code cells the user left there. `insert_index` in cells.py (the CLI's) keeps
 * the same rules, without the anchor.
 */
export function insertIndex(
  cells: readonly ICellInfo[],
  { runId, role, threadId, threadRuns, anchorId }: IPlacement
): number {
  const thread = new Set(threadRuns ?? []);
  let lastOfRun = -1;
  let lastOfThread = -1;
  cells.forEach((cell, i) => {
    const tag = cell.tag;
    if (!tag) {
      return;
    }
    if (tag.run_id === runId) {
      if (role === 'answer' || tag.role !== 'answer') {
        lastOfRun = i;
      }
    } else if (
      (threadId && tag.thread_id === threadId) ||
      thread.has(tag.run_id)
    ) {
      lastOfThread = i;
    }
  });
  if (lastOfRun >= 0) {
    return lastOfRun + 1;
  }
  if (anchorId) {
    const anchor = cells.findIndex(c => c.id === anchorId);
    if (anchor >= 0) {
      return anchor + 1;
    }
  }
  if (lastOfThread >= 0) {
    return lastOfThread + 1;
  }
  let end = cells.length;
  while (end > 1 && !cells[end - 1].tag && cells[end - 1].blank) {
    end -= 1;
  }
  return end;
}

/** Indices of cells that repeat an earlier cell's key (two collaborating tabs raced), last first. */
export function duplicates(tags: readonly (ICellTag | null)[]): number[] {
  const seen = new Set<string>();
  const doomed: number[] = [];
  tags.forEach((tag, i) => {
    if (!tag) {
      return;
    }
    const key = tagKey(tag);
    if (seen.has(key)) {
      doomed.push(i);
    } else {
      seen.add(key);
    }
  });
  return doomed.reverse();
}
