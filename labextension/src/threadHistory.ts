/**
 * A notebook's thread as the server keeps it, and what to do with each run of it when the
 * notebook opens or the sidebar polls: show an ended run from its record, or follow it (replayed
 * from its first event, which writes every cell it lacks exactly once).
 */

import { isActiveStatus } from './events';
import {
  APIError,
  getRun,
  getThread,
  IRunRecord,
  IThreadRecord,
  listThreads,
  recentRuns
} from './request';

/** How many past runs of a thread to show when a notebook is opened. */
export const HISTORY_RUNS = 20;

/**
 * The notebook's latest thread (null: none yet, or the server has no store), and the server's time
 * from which runs started later are found by the poll (read before the threads: nothing is missed).
 */
export async function latestThread(
  notebookPath: string
): Promise<{ thread: IThreadRecord | null; since: number | null }> {
  let since: number | null = null;
  try {
    since = (await recentRuns(notebookPath, null)).now;
  } catch {
    since = null;
  }
  try {
    const threads = await listThreads(notebookPath);
    return { thread: threads[0] ?? null, since };
  } catch (error) {
    if (error instanceof APIError && error.status === 404) {
      return { thread: null, since };
    }
    throw error;
  }
}

/** The thread's last runs, oldest first (its full record has every run with its steps). */
export async function threadRuns(
  threadId: string,
  summaries: IRunRecord[]
): Promise<IRunRecord[]> {
  let runs = summaries;
  try {
    runs = (await getThread(threadId)).runs ?? runs;
  } catch {
    // keep the summaries
  }
  return [...runs]
    .sort((a, b) => (a.created ?? 0) - (b.created ?? 0))
    .slice(-HISTORY_RUNS);
}

/** A run with its steps (a listing leaves them out). */
export async function withSteps(record: IRunRecord): Promise<IRunRecord> {
  if (record.steps) {
    return record;
  }
  try {
    return await getRun(record.run_id);
  } catch {
    return record;
  }
}

/**
 * Follow a run of the history (replay it, writing its cells) when it is still going, when its
 * cells in the notebook are not marked ended (the tab was closed mid-run after a save), or when it
 * ended after the file was last saved and left no cell in it (closed mid-run without saving; a
 * file saved later without its cells had them deleted on purpose). Else show its record.
 */
export function historyAction(
  record: IRunRecord,
  cells: { count: number; ended: boolean },
  savedAt: number
): 'follow' | 'show' {
  const unsaved =
    cells.count === 0 &&
    !!record.ended &&
    savedAt > 0 &&
    record.ended * 1000 > savedAt;
  return isActiveStatus(record.status) ||
    (cells.count > 0 && !cells.ended) ||
    unsaved
    ? 'follow'
    : 'show';
}

/**
 * What to do with a run the poll found (in progress, or created since the last poll): `skip` one
 * this tab follows or followed to its end; `later` one of another thread while this tab is busy
 * with a run of its own; `switch` to its thread, then follow it; `follow` it.
 */
export function recentRunAction(
  run: IRunRecord,
  tab: {
    following: boolean;
    /** This tab's view of the run, if it has one: whether it is still going there. */
    seen: { active: boolean } | null;
    threadId: string | null;
    busy: boolean;
  }
): 'skip' | 'later' | 'switch' | 'follow' {
  if (tab.following || (tab.seen && !tab.seen.active)) {
    return 'skip';
  }
  if (run.thread_id !== tab.threadId) {
    return tab.busy ? 'later' : 'switch';
  }
  return 'follow';
}
