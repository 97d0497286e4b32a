/**
 * Our cells in an open notebook: find them by tag, insert one where it belongs, and bring one up
 * to a cell spec (cells.ts) the way a kernel execution would: the source grows, outputs are
 * appended through the cell's output model (without duplicates, see `outputPatch`), the execution
 * count is set. Model-made outputs are written untrusted (see `distrust`).
 */

import type { ISharedCell } from '@jupyter/ydoc';
import type { ICodeCellModel } from '@jupyterlab/cells';
import type * as nbformat from '@jupyterlab/nbformat';
import type { NotebookPanel } from '@jupyterlab/notebook';

import { ICellInfo, insertIndex, IPlacement } from './cellPlacement';
import { ICellSpec, ICellTag, METADATA_KEY, readTag } from './cells';
import type { Output } from './events';
import { outputPatch, outputsKey } from './outputs';

export function cellTag(cell: ISharedCell): ICellTag | null {
  return readTag(cell.getMetadata(METADATA_KEY));
}

export class NotebookCells {
  constructor(private _panel: NotebookPanel) {}

  /** The shared cells of the notebook, in order. */
  all(): ISharedCell[] {
    return (this._panel.content.model?.sharedModel.cells ??
      []) as ISharedCell[];
  }

  /** Our tag of each cell (null for the user's cells), in order. */
  tags(): (ICellTag | null)[] {
    return this.all().map(cellTag);
  }

  /** What placing a new cell needs to know of each cell. */
  info(): ICellInfo[] {
    return this.all().map(cell => ({
      id: cell.id,
      tag: cellTag(cell),
      blank: cell.cell_type === 'code' && cell.getSource().trim() === ''
    }));
  }

  /** Insert a cell where `placement` says; markdown cells show rendered, like the run's others. */
  insert(spec: ICellSpec, placement: IPlacement): ISharedCell | null {
    const model = this._panel.content.model;
    if (!model) {
      return null;
    }
    const index = insertIndex(this.info(), placement);
    const cell =
      spec.cell_type === 'code'
        ? {
            cell_type: 'code' as const,
            source: spec.source,
            metadata: { ...spec.metadata } as any,
            outputs: [],
            execution_count: null
          }
        : {
            cell_type: 'markdown' as const,
            source: spec.source,
            metadata: { ...spec.metadata } as any
          };
    const inserted = model.sharedModel.insertCell(index, cell) as ISharedCell;
    if (spec.cell_type === 'markdown') {
      this._renderMarkdown(index);
    } else {
      this.update(inserted, spec);
    }
    return inserted;
  }

  /** Bring a cell to `spec`: source, tag, and for a code cell its outputs and execution count. */
  update(cell: ISharedCell, spec: ICellSpec): void {
    setSource(cell, spec.source);
    const tag = spec.metadata[METADATA_KEY];
    if (!sameTag(cellTag(cell), tag)) {
      cell.setMetadata(METADATA_KEY, tag as any);
    }
    const cellModel = this.codeModel(cell);
    if (!cellModel) {
      return;
    }
    this._setOutputs(cell, cellModel, spec.outputs ?? []);
    const count = spec.execution_count ?? null;
    if (cellModel.executionCount !== count) {
      cellModel.executionCount = count;
    }
  }

  /** Mark a cell's tag ended (a cell of a role no longer written, e.g. after a settings change). */
  markEnded(cell: ISharedCell): void {
    const tag = cellTag(cell);
    if (tag && !tag.ended) {
      cell.setMetadata(METADATA_KEY, { ...tag, ended: true } as any);
    }
  }

  /** Delete the cells at these indices (given last first). */
  remove(indices: readonly number[]): void {
    const model = this._panel.content.model;
    if (!model || !indices.length) {
      return;
    }
    model.sharedModel.transact(() => {
      for (const index of indices) {
        model.sharedModel.deleteCell(index);
      }
    });
  }

  /** The notebook's model of a shared code cell (outputs and execution count live there). */
  codeModel(cell: ISharedCell): ICodeCellModel | null {
    const model = this._panel.content.model;
    const index = this.all().indexOf(cell);
    const cellModel = index >= 0 ? model?.cells.get(index) : undefined;
    return cellModel && cellModel.type === 'code'
      ? (cellModel as ICodeCellModel)
      : null;
  }

  /** Scroll the notebook to a cell, at most once a frame. */
  scrollTo(cell: ISharedCell): void {
    if (this._scrollPending) {
      return;
    }
    this._scrollPending = true;
    requestAnimationFrame(() => {
      this._scrollPending = false;
      const index = this.all().indexOf(cell);
      if (index >= 0 && !this._panel.isDisposed) {
        void this._panel.content.scrollToItem(index, 'smart').catch(() => {
          /* the cell went away */
        });
      }
    });
  }

  /**
   * Outputs are compared with what this writer last wrote while the cell still shows exactly
   * that (an output area normalises streams, e.g. `\r`, so the cell's own list may differ from
   * ours), else with the cell's own: a replay into a saved cell or a collaborator's writes are
   * replaced, never appended to.
   */
  private _setOutputs(
    cell: ISharedCell,
    cellModel: ICodeCellModel,
    wanted: Output[]
  ): void {
    const current = cellModel.outputs.toJSON() as Output[];
    const mine = this._wrote.get(cell);
    const base =
      mine && mine.shown === outputsKey(current) ? mine.outputs : current;
    const patch = outputPatch(base, wanted);
    if (patch) {
      distrust(cellModel);
      if (patch.kind === 'append') {
        for (const output of patch.outputs) {
          cellModel.outputs.add(output as nbformat.IOutput);
        }
      }
      if (
        patch.kind === 'reset' ||
        cellModel.outputs.length !== wanted.length
      ) {
        cellModel.outputs.clear();
        for (const output of wanted) {
          cellModel.outputs.add(output as nbformat.IOutput);
        }
      }
    }
    this._wrote.set(cell, {
      outputs: wanted,
      shown: patch
        ? outputsKey(cellModel.outputs.toJSON() as Output[])
        : outputsKey(current)
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

  private _scrollPending = false;
  private _wrote = new WeakMap<
    ISharedCell,
    { outputs: Output[]; shown: string }
  >();
}

function sameTag(a: ICellTag | null, b: ICellTag): boolean {
  return (
    !!a &&
    a.run_id === b.run_id &&
    a.role === b.role &&
    a.step === b.step &&
    a.thread_id === b.thread_id &&
    !!a.ended === !!b.ended
  );
}

function setSource(cell: ISharedCell, source: string): void {
  const current = cell.getSource();
  if (current === source) {
    return;
  }
  if (source.startsWith(current)) {
    cell.updateSource(
      current.length,
      current.length,
      source.slice(current.length)
    );
  } else {
    cell.setSource(source);
  }
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
