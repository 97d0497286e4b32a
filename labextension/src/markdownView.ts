/** The model's text in a run view: rendered markdown, always untrusted (sanitised). */

import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

/** Renders the model's markdown through rendermime, always untrusted (sanitised), coalescing updates. */
export class MarkdownView extends Widget {
  constructor(private _rendermime: IRenderMimeRegistry) {
    super();
    this.addClass('jp-codeinterp-text');
    this._renderer = _rendermime.createRenderer('text/markdown');
    this._renderer.addClass('jp-codeinterp-markdown');
    this.node.appendChild(this._renderer.node);
  }

  setText(text: string): void {
    if (text === this._text) {
      return;
    }
    this._text = text;
    void this._render();
  }

  private async _render(): Promise<void> {
    if (this._busy) {
      this._dirty = true;
      return;
    }
    this._busy = true;
    do {
      this._dirty = false;
      const model = new MimeModel({
        data: { 'text/markdown': this._text },
        trusted: false
      });
      try {
        await this._renderer.renderModel(model);
      } catch {
        this._renderer.node.textContent = this._text;
      }
    } while (this._dirty && !this.isDisposed);
    this._busy = false;
  }

  dispose(): void {
    this._renderer.dispose();
    super.dispose();
  }

  get rendermime(): IRenderMimeRegistry {
    return this._rendermime;
  }

  private _renderer: IRenderMime.IRenderer;
  private _text = '';
  private _busy = false;
  private _dirty = false;
}
