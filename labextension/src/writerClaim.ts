/**
 * One writer per run among collaborating tabs. Each tab publishes the runs it follows in the
 * shared document's awareness; the follower with the lowest client id writes a run's cells, the
 * others only fold its events (and take over, from the full state, if the writer leaves).
 */

import { METADATA_KEY } from './cells';

/** How long a tab that joins a run already going (a reload, a second collaborator) holds its
 * writes back: a newcomer learns who else follows the run only when they publish again, which
 * they do as soon as they see it arrive. */
export const JOIN_GRACE_MS = 1500;

/** The part of a Yjs awareness the claim uses. */
export interface IAwareness {
  clientID: number;
  getStates(): Map<number, any>;
  setLocalStateField(field: string, value: unknown): void;
  on?(event: 'change', handler: (changes: { added?: number[] }) => void): void;
}

/** The awareness of a shared document, if it has one (a collaborative notebook). */
export function awarenessOf(sharedModel: unknown): IAwareness | null {
  const awareness = (sharedModel as any)?.awareness;
  return awareness && typeof awareness.getStates === 'function'
    ? awareness
    : null;
}

/** Which client writes the run: the lowest id among those that publish following it, or `me`. */
export function writerOf(
  states: Map<number, any>,
  runId: string,
  me: number
): number {
  let leader = me;
  for (const [id, state] of states) {
    const following = state?.[METADATA_KEY]?.following;
    if (id < leader && Array.isArray(following) && following.includes(runId)) {
      leader = id;
    }
  }
  return leader;
}

/** The runs this page follows, per awareness (a page may hold several writers of one document). */
const followed = new WeakMap<IAwareness, Map<string, number>>();

function publish(awareness: IAwareness, runs: Map<string, number>): void {
  try {
    awareness.setLocalStateField(METADATA_KEY, { following: [...runs.keys()] });
  } catch {
    // no awareness state to publish to (a document being disposed)
  }
}

function runsOf(awareness: IAwareness): Map<string, number> {
  let runs = followed.get(awareness);
  if (!runs) {
    const mine = new Map<string, number>();
    runs = mine;
    followed.set(awareness, mine);
    // A newcomer does not see states published before it arrived: publish ours again for it.
    awareness.on?.('change', changes => {
      const others = (changes?.added ?? []).filter(
        id => id !== awareness.clientID
      );
      if (others.length && mine.size) {
        publish(awareness, mine);
      }
    });
  }
  return runs;
}

/** This page's claim on writing the runs of one notebook. Without awareness it writes them all. */
export class WriterClaim {
  constructor(private _awareness: () => IAwareness | null) {}

  /** Whether the document is shared with other clients that may write too. */
  get shared(): boolean {
    return this._awareness() !== null;
  }

  follow(runId: string): void {
    this._count(runId, +1);
  }

  unfollow(runId: string): void {
    this._count(runId, -1);
  }

  /** Whether this page writes the run: alone, or the lowest client id among its followers. */
  mayWrite(runId: string): boolean {
    const awareness = this._awareness();
    if (!awareness) {
      return true;
    }
    const me = awareness.clientID;
    return writerOf(awareness.getStates(), runId, me) === me;
  }

  private _count(runId: string, delta: number): void {
    const awareness = this._awareness();
    if (!awareness) {
      return;
    }
    const runs = runsOf(awareness);
    const count = (runs.get(runId) ?? 0) + delta;
    if (count > 0) {
      runs.set(runId, count);
    } else {
      runs.delete(runId);
    }
    publish(awareness, runs);
  }
}
