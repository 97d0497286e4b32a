/**
 * The files on the prompt being written: each uploads as soon as it is added (attach.ts) and shows as
 * a chip with its progress, then its name; a refused or failed one says why. Sent with the prompt.
 */

import type { Uploader } from './attach';
import { refusal } from './attachRules';
import type { IAttachment } from './composer';

export class AttachmentTray {
  constructor(
    private _uploader: Uploader | null,
    private _changed: (files: readonly IAttachment[]) => void
  ) {}

  get items(): readonly IAttachment[] {
    return this._items;
  }

  /** The uploaded files, as paths from the Jupyter root. */
  get paths(): string[] {
    return this._items.filter(f => !!f.path).map(f => f.path as string);
  }

  /** Upload each of `files` into `folder`, showing progress; refused ones say why and upload nothing. */
  async add(files: File[], folder: string, maxBytes: number): Promise<void> {
    await Promise.all(files.map(file => this._addOne(file, folder, maxBytes)));
  }

  remove(name: string): void {
    this._items = this._items.filter(f => f.name !== name);
    this._changed(this._items);
  }

  clear(): void {
    this._items = [];
    this._changed(this._items);
  }

  private async _addOne(
    file: File,
    folder: string,
    maxBytes: number
  ): Promise<void> {
    const entry: IAttachment = { name: file.name, progress: 0 };
    // A chip that said this file could not be attached gives way to the new try.
    this._items = [
      ...this._items.filter(f => !(f.error && f.name === file.name)),
      entry
    ];
    const why = this._uploader
      ? refusal(file, maxBytes)
      : 'Files cannot be uploaded here.';
    if (why) {
      this._set(entry, { error: why });
      return;
    }
    this._changed(this._items);
    try {
      const path = await this._uploader!.upload(file, folder, progress =>
        this._set(entry, { progress })
      );
      if (path === null) {
        this.remove(file.name); // the user cancelled (name taken)
        return;
      }
      this._set(entry, { path, name: path.split('/').pop() ?? file.name });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this._set(entry, { error: `${file.name}: not uploaded (${message})` });
    }
  }

  private _set(entry: IAttachment, change: Partial<IAttachment>): void {
    this._items = this._items.map(f =>
      f === entry ? Object.assign(entry, change) : f
    );
    this._changed(this._items);
  }

  private _items: readonly IAttachment[] = [];
}
