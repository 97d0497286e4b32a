/**
 * Writes a run into a notebook as it streams: a markdown cell for the prompt, one code cell per
 * step (source filling in while the code streams, outputs and execution count arriving live) and a
 * markdown cell for the answer.
 *
 * Every cell carries `metadata.codeinterp = {run_id, step, role}`; a cell is looked up by that key
 * before one is inserted, so applying an event twice, replaying a run after a reload, or a second
 * tab writing the same run through real-time collaboration never leaves a duplicate.
 *
 * The cells are untrusted, like the cells of a notebook someone else sent: their outputs come
 * from model-written code and render sanitised until the user trusts them (JupyterLab's
 * "Trust Notebook", or "Trust outputs" on the run in the sidebar, see `trustRun`).
 */

import type { ISharedCell } from '@jupyter/ydoc';
import type * as nbformat from '@jupyterlab/nbformat';
import type { ICodeCellModel } from '@jupyterlab/cells';
import type { NotebookPanel } from '@jupyterlab/notebook';

import { Output, RunEvent } from './events';

export type CellRole = 'prompt' | 'code' | 'answer';

/** The metadata key of the cells we write. */
export const METADATA_KEY = 'codeinterp';

export interface ICellTag {
  run_id: string;
  step: number;
  role: CellRole;
  thread_id?: string;
  /** Set on a run's cells once the run has ended. */
  ended?: boolean;
}

export interface IWriterOptions {
  /** Which kinds of cells to write. */
  roles: () => Set<CellRole>;
  /** Run ids of the thread, to place a new run's cells below the thread's last cell. */
  threadRunIds?: () => Iterable<string>;
  /** Id of the cell below which cells go when the run has none yet (the `%%interpret` cell). */
  anchorCellId?: () => string | null;
  /** Scroll the notebook to the cell being written. */
  autoScroll?: () => boolean;
}

interface IRunBuffer {
  threadId: string;
  prompt: string;
  code: Map<number, string>;
  /** Each running step's outputs so far, coalesced as a notebook shows them. */
  live: Map<number, Output[]>;
}

export function cellTag(cell: ISharedCell): ICellTag | null {
  const tag = cell.getMetadata(METADATA_KEY) as any;
  if (
    tag &&
    typeof tag === 'object' &&
    typeof tag.run_id === 'string' &&
    typeof tag.role === 'string'
  ) {
    return tag as ICellTag;
  }
  return null;
}

/** Append an output to a list the way a notebook shows it: streams coalesce, clear_output clears. */
export function appendOutput(list: Output[], output: Output): Output[] {
  if (output.output_type === 'clear_output') {
    return [];
  }
  const last = list[list.length - 1];
  if (
    output.output_type === 'stream' &&
    last &&
    last.output_type === 'stream' &&
    last.name === output.name
  ) {
    const merged = {
      ...last,
      text: joinText(last.text) + joinText(output.text)
    } as Output;
    return [...list.slice(0, -1), merged];
  }
  return [...list, output];
}

function joinText(text: unknown): string {
  return Array.isArray(text) ? text.join('') : String(text ?? '');
}

export function promptMarkdown(prompt: string): string {
  const quoted = prompt
    .trim()
    .split('\n')
    .map(line => `> ${line}`)
    .join('\n');
  return `**Code Interpreter prompt**\n\n${quoted}`;
}

/**
 * The runs this page follows, per shared document, published in the document's awareness so that
 * collaborating tabs agree on one writer per run (the lowest client id among the followers).
 */
const followed = new WeakMap<object, Map<string, number>>();

/**
 * How long a tab that joins a run already going (a reload, a second collaborator) holds its
 * writes back: a newcomer learns who else follows the run only when they publish again, which
 * they do as soon as they see it arrive (see `_setFollowing`). Its events wait, in order.
 */
export const JOIN_GRACE_MS = 1500;

export class NotebookWriter {
  constructor(
    private _panel: NotebookPanel,
    private _options: IWriterOptions
  ) {}

  get panel(): NotebookPanel {
    return this._panel;
  }

  /**
   * Declare that this page follows a run (and may be the one that writes it). `joining`: the run
   * was started elsewhere and is going on; in a collaborative document, writes wait a moment
   * until the other followers are known.
   */
  follow(runId: string, options: { joining?: boolean } = {}): void {
    this._setFollowing(runId, +1);
    if (options.joining && this._panel.context.model?.collaborative) {
      this._held.set(runId, []);
      window.setTimeout(() => this._release(runId), JOIN_GRACE_MS);
    }
  }

  unfollow(runId: string): void {
    this._setFollowing(runId, -1);
  }

  /** Apply one event of a run to the notebook. Idempotent. */
  apply(event: RunEvent): void {
    const model = this._panel.content.model;
    if (!model || this._panel.isDisposed) {
      return;
    }
    const held = this._held.get(event.run_id);
    if (held) {
      held.push(event);
      return;
    }
    const buffer = this._buffer(event.run_id);
    if (!this._mayWrite(event.run_id)) {
      // Another collaborating tab writes this run; keep the streamed code in case it leaves.
      if (event.type === 'step') {
        const code =
          event.code ??
          (buffer.code.get(event.step) ?? '') +
            (event.stage === 'code_delta' ? (event.delta ?? '') : '');
        buffer.code.set(event.step, code);
        if (event.stage === 'in_progress' && event.output) {
          buffer.live.set(
            event.step,
            appendOutput(buffer.live.get(event.step) ?? [], event.output)
          );
        }
      } else if (event.type === 'run_started') {
        buffer.threadId = event.thread_id;
      }
      return;
    }
    const roles = this._options.roles();
    switch (event.type) {
      case 'run_started':
        buffer.threadId = event.thread_id;
        buffer.prompt = event.prompt;
        if (roles.has('prompt')) {
          this._ensureCell(event.run_id, 0, 'prompt', () =>
            promptMarkdown(event.prompt)
          );
        }
        break;
      case 'step': {
        if (!roles.has('code')) {
          break;
        }
        let code = buffer.code.get(event.step) ?? '';
        if (event.stage === 'code_delta') {
          code += event.delta ?? '';
        }
        if (event.code !== undefined) {
          code = event.code;
        }
        buffer.code.set(event.step, code);
        const cell = this._ensureCell(
          event.run_id,
          event.step,
          'code',
          () => code
        );
        if (!cell) {
          break;
        }
        this._setSource(cell, code);
        const cellModel = this._codeModel(cell);
        if (cellModel && event.stage === 'in_progress' && event.output) {
          // Written through the cell's output model, as a kernel execution does. Append when the
          // cell shows exactly what this writer wrote so far; otherwise (a replay into a saved
          // cell, a collaborator's writes) replace it with the full list: never a duplicate.
          const before = buffer.live.get(event.step) ?? [];
          const after = appendOutput(before, event.output);
          buffer.live.set(event.step, after);
          const current = cellModel.outputs.toJSON() as Output[];
          if (
            event.output.output_type !== 'clear_output' &&
            sameOutputs(current, before)
          ) {
            distrust(cellModel);
            cellModel.outputs.add(event.output as nbformat.IOutput);
          } else if (!sameOutputs(current, after)) {
            distrust(cellModel);
            cellModel.outputs.clear();
            for (const output of after) {
              cellModel.outputs.add(output as nbformat.IOutput);
            }
          }
        }
        if (cellModel && event.stage === 'completed') {
          const outputs = (event.outputs ?? []).filter(
            o => o.output_type !== 'clear_output'
          ) as nbformat.IOutput[];
          if (!sameOutputs(cellModel.outputs.toJSON(), outputs)) {
            distrust(cellModel);
            cellModel.outputs.clear();
            for (const output of outputs) {
              cellModel.outputs.add(output);
            }
          }
          buffer.live.delete(event.step);
        }
        if (
          cellModel &&
          event.execution_count !== undefined &&
          cellModel.executionCount !== event.execution_count
        ) {
          cellModel.executionCount = event.execution_count;
        }
        this._scrollTo(cell);
        break;
      }
      case 'run_ended':
        if (roles.has('answer') && event.answer.trim()) {
          this._ensureCell(event.run_id, 0, 'answer', () => event.answer);
        }
        this._markEnded(event.run_id);
        this._buffers.delete(event.run_id);
        break;
      default:
        break;
    }
  }

  /** Whether the notebook holds any cell of the run, and whether they are marked ended. */
  runCells(runId: string): { count: number; ended: boolean } {
    let count = 0;
    let ended = false;
    for (const cell of this._cells()) {
      const tag = cellTag(cell);
      if (tag && tag.run_id === runId) {
        count += 1;
        ended = ended || !!tag.ended;
      }
    }
    return { count, ended };
  }

  /**
   * Trust the outputs of a run's code cells, as "Trust Notebook" would for them only: the user
   * chose to. Returns how many cells were trusted.
   */
  trustRun(runId: string): number {
    let count = 0;
    for (const cell of this._cells()) {
      const tag = cellTag(cell);
      if (tag && tag.run_id === runId && tag.role === 'code') {
        const cellModel = this._codeModel(cell);
        if (cellModel && !cellModel.trusted) {
          cellModel.trusted = true;
          count += 1;
        }
      }
    }
    return count;
  }

  /** Remove cells that share a key with an earlier one (a race between two collaborating tabs). */
  dedupe(): number {
    const model = this._panel.content.model;
    if (!model) {
      return 0;
    }
    const seen = new Set<string>();
    const doomed: number[] = [];
    this._cells().forEach((cell, index) => {
      const tag = cellTag(cell);
      if (!tag) {
        return;
      }
      const key = `${tag.run_id}/${tag.role}/${tag.step}`;
      if (seen.has(key)) {
        doomed.push(index);
      } else {
        seen.add(key);
      }
    });
    if (doomed.length) {
      model.sharedModel.transact(() => {
        for (const index of doomed.reverse()) {
          model.sharedModel.deleteCell(index);
        }
      });
    }
    return doomed.length;
  }

  private _awareness(): any {
    const shared = this._panel.content.model?.sharedModel as any;
    const awareness = shared?.awareness;
    return awareness && typeof awareness.getStates === 'function'
      ? awareness
      : null;
  }

  /** Apply the events held while joining, in order; later ones then apply as they come. */
  private _release(runId: string): void {
    const held = this._held.get(runId);
    this._held.delete(runId);
    for (const event of held ?? []) {
      try {
        this.apply(event);
      } catch (error) {
        console.error('codeinterp: could not write the event', error);
      }
    }
  }

  private _setFollowing(runId: string, delta: number): void {
    const awareness = this._awareness();
    if (!awareness) {
      return;
    }
    let runs = followed.get(awareness);
    if (!runs) {
      const mine = new Map<string, number>();
      runs = mine;
      followed.set(awareness, mine);
      // A newcomer does not see states published before it arrived: publish ours again for it.
      awareness.on?.('change', (changes: { added?: number[] }) => {
        const others = (changes?.added ?? []).filter(
          id => id !== awareness.clientID
        );
        if (others.length && mine.size) {
          try {
            awareness.setLocalStateField(METADATA_KEY, {
              following: [...mine.keys()]
            });
          } catch {
            // the document is being disposed
          }
        }
      });
    }
    const count = (runs.get(runId) ?? 0) + delta;
    if (count > 0) {
      runs.set(runId, count);
    } else {
      runs.delete(runId);
    }
    try {
      awareness.setLocalStateField(METADATA_KEY, {
        following: [...runs.keys()]
      });
    } catch {
      // no awareness state to publish to (e.g. a document being disposed)
    }
  }

  /** Whether this page writes the run: alone, or the lowest client id among the tabs following it. */
  private _mayWrite(runId: string): boolean {
    const awareness = this._awareness();
    if (!awareness) {
      return true;
    }
    const me: number = awareness.clientID;
    let leader = me;
    for (const [id, state] of awareness.getStates() as Map<number, any>) {
      const following = state?.[METADATA_KEY]?.following;
      if (
        id < leader &&
        Array.isArray(following) &&
        following.includes(runId)
      ) {
        leader = id;
      }
    }
    return leader === me;
  }

  /** The notebook's model of a shared code cell (outputs and execution count live there). */
  private _codeModel(cell: ISharedCell): ICodeCellModel | null {
    const model = this._panel.content.model;
    if (!model) {
      return null;
    }
    const index = this._cells().indexOf(cell);
    if (index < 0) {
      return null;
    }
    const cellModel = model.cells.get(index);
    return cellModel && cellModel.type === 'code'
      ? (cellModel as ICodeCellModel)
      : null;
  }

  private _cells(): ISharedCell[] {
    return (this._panel.content.model?.sharedModel.cells ??
      []) as ISharedCell[];
  }

  private _find(runId: string, step: number, role: CellRole): number {
    const cells = this._cells();
    for (let i = 0; i < cells.length; i++) {
      const tag = cellTag(cells[i]);
      if (
        tag &&
        tag.run_id === runId &&
        tag.role === role &&
        tag.step === step
      ) {
        return i;
      }
    }
    return -1;
  }

  private _insertIndex(runId: string, role: CellRole): number {
    const cells = this._cells();
    let lastOfRun = -1;
    let lastOfThread = -1;
    const threadRuns = new Set(this._options.threadRunIds?.() ?? []);
    cells.forEach((cell, i) => {
      const tag = cellTag(cell);
      if (!tag) {
        return;
      }
      if (tag.run_id === runId) {
        // Code cells go above the run's answer cell, should one exist already.
        if (!(role !== 'answer' && tag.role === 'answer')) {
          lastOfRun = i;
        }
      } else if (threadRuns.has(tag.run_id)) {
        lastOfThread = i;
      }
    });
    if (lastOfRun >= 0) {
      return lastOfRun + 1;
    }
    const anchorId = this._options.anchorCellId?.();
    if (anchorId) {
      const anchor = cells.findIndex(c => c.id === anchorId);
      if (anchor >= 0) {
        return anchor + 1;
      }
    }
    if (lastOfThread >= 0) {
      return lastOfThread + 1;
    }
    // At the end, but not after trailing empty cells the user left there.
    let end = cells.length;
    while (
      end > 0 &&
      !cellTag(cells[end - 1]) &&
      cells[end - 1].getSource().trim() === '' &&
      cells[end - 1].cell_type === 'code' &&
      end - 1 > 0
    ) {
      end -= 1;
    }
    return end;
  }

  private _ensureCell(
    runId: string,
    step: number,
    role: CellRole,
    source: () => string
  ): ISharedCell | null {
    const model = this._panel.content.model;
    if (!model) {
      return null;
    }
    const found = this._find(runId, step, role);
    if (found >= 0) {
      return this._cells()[found];
    }
    const index = this._insertIndex(runId, role);
    const tag: ICellTag = { run_id: runId, step, role };
    const threadId = this._buffers.get(runId)?.threadId;
    if (threadId) {
      tag.thread_id = threadId;
    }
    const cell =
      role === 'code'
        ? {
            cell_type: 'code' as const,
            source: source(),
            metadata: { [METADATA_KEY]: tag as any },
            outputs: [],
            execution_count: null
          }
        : {
            cell_type: 'markdown' as const,
            source: source(),
            metadata: { [METADATA_KEY]: tag as any }
          };
    const inserted = model.sharedModel.insertCell(index, cell) as ISharedCell;
    if (role !== 'code') {
      this._renderMarkdown(index);
    }
    this._scrollTo(inserted);
    // A collaborator may have inserted the same cell at the same moment.
    window.setTimeout(() => this.dedupe(), 300);
    return inserted;
  }

  private _setSource(cell: ISharedCell, code: string): void {
    const current = cell.getSource();
    if (current === code) {
      return;
    }
    if (code.startsWith(current)) {
      cell.updateSource(
        current.length,
        current.length,
        code.slice(current.length)
      );
    } else {
      cell.setSource(code);
    }
  }

  private _markEnded(runId: string): void {
    const model = this._panel.content.model;
    if (!model) {
      return;
    }
    model.sharedModel.transact(() => {
      for (const cell of this._cells()) {
        const tag = cellTag(cell);
        if (tag && tag.run_id === runId && !tag.ended) {
          cell.setMetadata(METADATA_KEY, { ...tag, ended: true } as any);
        }
      }
    });
  }

  private _renderMarkdown(index: number): void {
    // Markdown cells inserted through the model show as editors; render them like run cells.
    requestAnimationFrame(() => {
      const widget = this._panel.content.widgets[index];
      if (widget && widget.model.type === 'markdown') {
        (widget as any).rendered = true;
      }
    });
  }

  private _scrollTo(cell: ISharedCell): void {
    if (!this._options.autoScroll?.() || this._scrollPending) {
      return;
    }
    this._scrollPending = true;
    requestAnimationFrame(() => {
      this._scrollPending = false;
      const index = this._cells().indexOf(cell);
      if (index >= 0 && !this._panel.isDisposed) {
        void this._panel.content.scrollToItem(index, 'smart').catch(() => {
          /* the cell went away */
        });
      }
    });
  }

  private _buffer(runId: string): IRunBuffer {
    let buffer = this._buffers.get(runId);
    if (!buffer) {
      buffer = {
        threadId: '',
        prompt: '',
        code: new Map(),
        live: new Map()
      };
      this._buffers.set(runId, buffer);
    }
    return buffer;
  }

  private _scrollPending = false;
  private _buffers = new Map<string, IRunBuffer>();
  private _held = new Map<string, RunEvent[]>();
}

/**
 * Make a cell untrusted before writing model-made outputs into it: a cell of a trusted notebook
 * (or one the user trusted before a replay rewrote it) must not render the new outputs trusted,
 * nor be signed as trusted when the notebook is saved.
 */
function distrust(cellModel: ICodeCellModel): void {
  if (cellModel.trusted) {
    cellModel.trusted = false;
  }
  if (cellModel.getMetadata('trusted')) {
    cellModel.setMetadata('trusted', false);
  }
}

/** Whether two output lists show the same thing (streams compared by their joined text). */
export function sameOutputs(a: Output[], b: Output[]): boolean {
  const norm = (list: Output[]) =>
    JSON.stringify(
      list.map((o: any) =>
        o.output_type === 'stream'
          ? ['stream', o.name, joinText(o.text)]
          : o.output_type === 'error'
            ? ['error', o.ename, o.evalue, o.traceback]
            : [o.output_type, o.data]
      )
    );
  return norm(a) === norm(b);
}
