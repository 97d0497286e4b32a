import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import type { CellRole } from '../src/cells';
import type { Output, RunEvent } from '../src/events';
import { NotebookWriter } from '../src/notebookWriter';
import { IAwareness, JOIN_GRACE_MS } from '../src/writerClaim';

/**
 * The writer against a stand-in for JupyterLab's notebook model: shared cells with tags and
 * sources, and output areas that merge streams the way JupyterLab's do. It counts what the writer
 * does to them, so the tests can tell an append from a rewrite.
 */
class FakeOutputs {
  list: Output[] = [];
  adds = 0;
  clears = 0;
  get length(): number {
    return this.list.length;
  }
  add(output: Output): void {
    this.adds += 1;
    const last = this.list[this.list.length - 1] as any;
    const o = output as any;
    if (
      last &&
      o.output_type === 'stream' &&
      last.output_type === 'stream' &&
      last.name === o.name
    ) {
      this.list[this.list.length - 1] = { ...last, text: last.text + o.text };
    } else {
      this.list.push({ ...o });
    }
  }
  clear(): void {
    this.clears += 1;
    this.list = [];
  }
  toJSON(): Output[] {
    return this.list.map(o => ({ ...o }));
  }
}

let ids = 0;
class FakeCell {
  id = `cell-${++ids}`;
  metadata: Record<string, unknown>;
  source: string;
  outputs = new FakeOutputs();
  executionCount: number | null = null;
  trusted = false;
  sourceResets = 0;
  constructor(
    readonly cell_type: 'code' | 'markdown',
    source: string,
    metadata: Record<string, unknown> = {}
  ) {
    this.source = source;
    this.metadata = { ...metadata };
  }
  get type(): string {
    return this.cell_type;
  }
  getSource(): string {
    return this.source;
  }
  setSource(source: string): void {
    this.sourceResets += 1;
    this.source = source;
  }
  updateSource(start: number, end: number, text: string): void {
    this.source = this.source.slice(0, start) + text + this.source.slice(end);
  }
  getMetadata(key: string): unknown {
    return this.metadata[key];
  }
  setMetadata(key: string, value: unknown): void {
    this.metadata[key] = value;
  }
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = {
      cell_type: this.cell_type,
      source: this.source,
      metadata: this.metadata
    };
    if (this.cell_type === 'code') {
      json.outputs = this.outputs.toJSON();
      json.execution_count = this.executionCount;
    }
    return JSON.parse(JSON.stringify(json));
  }
}

class FakeNotebook {
  cells: FakeCell[];
  constructor(...cells: FakeCell[]) {
    this.cells = cells;
  }
  /** A notebook panel as the writer sees it. */
  panel(collaborative = false): any {
    const nb = this.cells;
    const sharedModel = {
      get cells() {
        return nb;
      },
      awareness: undefined as IAwareness | undefined,
      insertCell(index: number, json: any) {
        const cell = new FakeCell(json.cell_type, json.source, json.metadata);
        nb.splice(index, 0, cell);
        return cell;
      },
      deleteCell(index: number) {
        nb.splice(index, 1);
      },
      transact(fn: () => void) {
        fn();
      }
    };
    return {
      isDisposed: false,
      context: { model: { collaborative } },
      content: {
        model: { sharedModel, cells: { get: (i: number) => nb[i] } },
        widgets: [],
        scrollToItem: () => Promise.resolve()
      }
    };
  }
  json(): Record<string, unknown>[] {
    return this.cells.map(c => c.toJSON());
  }
  ours(): FakeCell[] {
    return this.cells.filter(c => c.metadata.codeinterp);
  }
}

beforeAll(() => {
  const g = globalThis as any;
  g.window ??= g;
  g.requestAnimationFrame ??= (fn: () => void) => setTimeout(fn, 0);
});

const FIXTURES = join(__dirname, '..', '..', 'tests', 'fixtures', 'cells');
const fixture = (name: string) =>
  JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf-8')) as {
    events: RunEvent[];
    cells: Record<string, unknown>[];
  };
const ALL = () => new Set<CellRole>(['prompt', 'code', 'answer']);
const writerFor = (nb: FakeNotebook, roles = ALL, collaborative = false) =>
  new NotebookWriter(nb.panel(collaborative), { roles });

describe('the notebook writer', () => {
  for (const name of [
    'completed_with_fix',
    'failed_max_steps',
    'bad_arguments_then_answer'
  ]) {
    it(`${name}: writes the cells the CLI writes`, () => {
      const { events, cells } = fixture(name);
      const nb = new FakeNotebook();
      const writer = writerFor(nb);
      events.forEach(e => writer.apply(e));
      expect(nb.json()).toStrictEqual(cells);
    });
  }

  it('writes live: code grows in place, outputs are appended, cleared only by a clear', () => {
    const { events } = fixture('completed_with_fix');
    const nb = new FakeNotebook();
    const writer = writerFor(nb);
    const upTo = (seq: number) =>
      events.filter(e => e.seq <= seq).forEach(e => writer.apply(e));
    upTo(5);
    const [prompt, step1] = nb.cells;
    expect(prompt.metadata.codeinterp).toMatchObject({ role: 'prompt' });
    expect(step1.source.length).toBeGreaterThan(0);
    upTo(13);
    expect(step1.sourceResets).toBe(0);
    expect([step1.outputs.clears, step1.outputs.adds]).toEqual([0, 2]);
    expect(step1.executionCount).toBe(1);
    upTo(27);
    const step2 = nb.cells[2];
    expect(step2.outputs.toJSON()).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'old\n' }
    ]);
    upTo(28); // clear_output(wait=True): nothing changes until the next output
    expect(step2.outputs.clears).toBe(0);
    upTo(29);
    expect(step2.outputs.toJSON()).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'new\n' }
    ]);
    upTo(37);
    expect(step2.outputs.clears).toBe(1);
    expect(nb.ours().every(c => (c.metadata.codeinterp as any).ended)).toBe(
      true
    );
  });

  it('appends a growing stream as its new text only', () => {
    const nb = new FakeNotebook();
    const writer = writerFor(nb);
    const ev = (seq: number, e: Record<string, unknown>) =>
      ({ seq, run_id: 'r', time: seq, ...e }) as unknown as RunEvent;
    writer.apply(
      ev(1, { type: 'run_started', thread_id: 't', prompt: 'p', model: 'm' })
    );
    writer.apply(
      ev(2, { type: 'step', step: 1, stage: 'in_progress', code: 'x' })
    );
    for (let i = 0; i < 5; i++) {
      writer.apply(
        ev(3 + i, {
          type: 'step',
          step: 1,
          stage: 'in_progress',
          output: { output_type: 'stream', name: 'stdout', text: `${i}\n` }
        })
      );
    }
    const cell = nb.cells[1];
    expect(cell.outputs.toJSON()).toEqual([
      { output_type: 'stream', name: 'stdout', text: '0\n1\n2\n3\n4\n' }
    ]);
    expect([cell.outputs.adds, cell.outputs.clears]).toEqual([5, 0]);
  });

  it('with outputBatchMs, writes live outputs together, and before anything else', () => {
    vi.useFakeTimers();
    try {
      const nb = new FakeNotebook();
      const writer = new NotebookWriter(nb.panel(false), {
        roles: ALL,
        outputBatchMs: 150
      });
      const ev = (seq: number, e: Record<string, unknown>) =>
        ({ seq, run_id: 'r', time: seq, ...e }) as unknown as RunEvent;
      const print = (seq: number, text: string) =>
        ev(seq, {
          type: 'step',
          step: 1,
          stage: 'in_progress',
          output: { output_type: 'stream', name: 'stdout', text }
        });
      writer.apply(
        ev(1, { type: 'run_started', thread_id: 't', prompt: 'p', model: 'm' })
      );
      writer.apply(
        ev(2, { type: 'step', step: 1, stage: 'in_progress', code: 'x' })
      );
      for (let i = 0; i < 5; i++) {
        writer.apply(print(3 + i, `${i}\n`));
      }
      const cell = nb.cells[1];
      expect(cell.outputs.adds).toBe(0); // held back
      vi.advanceTimersByTime(150);
      expect(cell.outputs.toJSON()).toEqual([
        { output_type: 'stream', name: 'stdout', text: '0\n1\n2\n3\n4\n' }
      ]);
      expect(cell.outputs.adds).toBe(1); // five outputs, one write
      writer.apply(print(8, 'last\n'));
      writer.apply(ev(9, { type: 'step', step: 1, stage: 'interpreting' }));
      expect(cell.outputs.adds).toBe(2); // the next event wrote it first, with no wait
    } finally {
      vi.useRealTimers();
    }
  });

  it('never duplicates a cell: events applied twice, or a run replayed by another writer', () => {
    const { events, cells } = fixture('completed_with_fix');
    const nb = new FakeNotebook();
    const writer = writerFor(nb);
    [...events, ...events].forEach(e => writer.apply(e));
    const replay = writerFor(nb);
    events.forEach(e => replay.apply(e));
    expect(nb.json()).toStrictEqual(cells);
  });

  it('a replay into saved cells replaces outputs it did not write, never appends to them', () => {
    const { events, cells } = fixture('completed_with_fix');
    const nb = new FakeNotebook();
    const writer = writerFor(nb);
    events.forEach(e => writer.apply(e));
    nb.cells[1].outputs.list.push({
      output_type: 'stream',
      name: 'stderr',
      text: 'stray'
    } as Output);
    const replay = writerFor(nb);
    events.forEach(e => replay.apply(e));
    expect(nb.json()).toStrictEqual(cells);
  });

  it('removes the cell of a step that ended without running, and notes why the run failed', () => {
    const { events } = fixture('failed_max_steps');
    const nb = new FakeNotebook();
    const writer = writerFor(nb);
    const skipped = events.findIndex(
      e =>
        e.type === 'step' && e.stage === 'completed' && e.status === 'skipped'
    );
    events.slice(0, skipped).forEach(e => writer.apply(e));
    expect(nb.ours().map(c => (c.metadata.codeinterp as any).step)).toEqual([
      0, 1, 2
    ]);
    events.slice(skipped).forEach(e => writer.apply(e));
    expect(nb.ours().map(c => (c.metadata.codeinterp as any).role)).toEqual([
      'prompt',
      'code',
      'answer'
    ]);
    expect(nb.cells[2].source).toMatch(
      /^\*\*Run failed:\*\* Stopped: reached max_steps/
    );
  });

  it('leaves a cell the user deleted mid-run deleted, and still adds the answer', () => {
    const { events } = fixture('completed_with_fix');
    const nb = new FakeNotebook();
    const writer = writerFor(nb);
    events.slice(0, 20).forEach(e => writer.apply(e));
    nb.cells.splice(0, 1); // the prompt cell
    events.slice(20).forEach(e => writer.apply(e));
    expect(nb.ours().map(c => (c.metadata.codeinterp as any).role)).toEqual([
      'code',
      'code',
      'answer'
    ]);
  });

  it('writes only the roles asked for, below the user’s cells but above trailing empty ones', () => {
    const { events } = fixture('completed_with_fix');
    const title = new FakeCell('markdown', '# Title');
    const blank = new FakeCell('code', '');
    const nb = new FakeNotebook(title, blank);
    const writer = writerFor(nb, () => new Set<CellRole>(['code']));
    events.forEach(e => writer.apply(e));
    expect(
      nb.cells.map(c => (c.metadata.codeinterp as any)?.step ?? c.id)
    ).toEqual([title.id, 1, 2, blank.id]);
  });
});

describe('two collaborating tabs', () => {
  class Room {
    states = new Map<number, any>();
    join(clientID: number): IAwareness {
      this.states.set(clientID, {});
      return {
        clientID,
        getStates: () => this.states,
        setLocalStateField: (field, value) =>
          this.states.set(clientID, {
            ...this.states.get(clientID),
            [field]: value
          })
      };
    }
  }

  it('one writes the run; the other takes over from the full state when it leaves', () => {
    const { events, cells } = fixture('completed_with_fix');
    const room = new Room();
    const nb = new FakeNotebook();
    // One shared document seen by two pages: each page has its own awareness client.
    const a = room.join(1);
    const b = room.join(2);
    const pageA = nb.panel();
    const pageB = nb.panel();
    pageA.content.model.sharedModel.awareness = a;
    pageB.content.model.sharedModel.awareness = b;
    const first = new NotebookWriter(pageA, { roles: ALL });
    const second = new NotebookWriter(pageB, { roles: ALL });
    first.follow(events[0].run_id);
    second.follow(events[0].run_id);
    const half = 20;
    for (const e of events.slice(0, half)) {
      second.apply(e); // not its to write: nothing written
      first.apply(e);
    }
    const written = nb.json();
    expect(written.length).toBe(3);
    first.unfollow(events[0].run_id);
    for (const e of events.slice(half)) {
      second.apply(e);
    }
    expect(nb.json()).toStrictEqual(cells);
  });

  it('a tab joining a run holds its writes back, then writes it whole unless another tab does', () => {
    vi.useFakeTimers();
    const { events, cells } = fixture('completed_with_fix');
    const runId = events[0].run_id;
    for (const alone of [true, false]) {
      const room = new Room();
      const nb = new FakeNotebook();
      const page = nb.panel(true);
      const me = room.join(alone ? 1 : 2);
      page.content.model.sharedModel.awareness = me;
      if (!alone) {
        // An earlier tab (lower client id) follows the run already.
        room.states.set(1, { codeinterp: { following: [runId] } });
      }
      const joining = new NotebookWriter(page, { roles: ALL });
      joining.follow(runId, { joining: true });
      events.slice(0, 20).forEach(e => joining.apply(e));
      expect(nb.cells).toEqual([]);
      vi.advanceTimersByTime(JOIN_GRACE_MS);
      events.slice(20).forEach(e => joining.apply(e));
      expect(nb.json()).toStrictEqual(alone ? cells : []);
    }
  });
});

afterEach(() => {
  vi.useRealTimers();
});
