/**
 * Attaching files to a prompt: dropped on the sidebar, pasted, or picked with the paperclip, each
 * is uploaded into the notebook's folder with JupyterLab's own upload machinery (a FileBrowserModel:
 * chunked uploads of large files, the server's Contents API) and sent with the prompt as `files`.
 *
 * A name that is taken asks: Replace, Keep both (a suffixed name) or Cancel. Every upload goes to a
 * temporary name first and takes its name only once complete, so a failed upload loses nothing and
 * leaves nothing half-written.
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import { FileBrowserModel } from '@jupyterlab/filebrowser';
import type { Contents } from '@jupyterlab/services';

import { keepBothName } from './attachRules';

export type Clash = 'replace' | 'keep' | 'cancel';

async function askClash(name: string): Promise<Clash> {
  const result = await showDialog({
    title: 'A file of that name exists',
    body: `“${name}” is already in the notebook’s folder. Replace it, or keep both (the new one gets another name)?`,
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: 'Keep both', actions: ['keep'] }),
      Dialog.warnButton({ label: 'Replace', actions: ['replace'] })
    ]
  });
  if (!result.button.accept) {
    return 'cancel';
  }
  return result.button.actions.includes('replace') ? 'replace' : 'keep';
}

export class Uploader {
  constructor(
    private _manager: IDocumentManager,
    private _contents: Contents.IManager,
    private _ask: (name: string) => Promise<Clash> = askClash
  ) {}

  /**
   * Upload `file` into `folder` (from the Jupyter root); its path from the root, or null when the
   * user cancelled. `progress` hears the upload's fraction done.
   */
  async upload(
    file: File,
    folder: string,
    progress?: (fraction: number) => void
  ): Promise<string | null> {
    const listing = await this._contents.get(folder, { content: true });
    const taken = new Set<string>(
      ((listing.content ?? []) as Contents.IModel[]).map(item => item.name)
    );
    let name = file.name;
    let replace = false;
    if (taken.has(name)) {
      const choice = await this._ask(name);
      if (choice === 'cancel') {
        return null;
      }
      if (choice === 'keep') {
        name = keepBothName(name, taken);
      } else {
        replace = true;
      }
    }
    const target = folder ? `${folder}/${name}` : name;
    const sendAs = `${name}.codeinterp-upload`; // not hidden: the server refuses hidden names
    const temporary = folder ? `${folder}/${sendAs}` : sendAs;
    const model = new FileBrowserModel({ manager: this._manager, auto: false });
    const onProgress = (
      _: unknown,
      change: { newValue: { progress: number } | null }
    ) => {
      if (change.newValue) {
        progress?.(change.newValue.progress);
      }
    };
    try {
      await model.cd(`/${folder}`);
      model.uploadChanged.connect(onProgress);
      await model.upload(new File([file], sendAs, { type: file.type }));
      if (replace) {
        await this._contents.delete(target);
      }
      await this._contents.rename(temporary, target);
      progress?.(1);
      return target;
    } catch (error) {
      await this._contents.delete(temporary).catch(() => undefined);
      throw error;
    } finally {
      model.uploadChanged.disconnect(onProgress);
      model.dispose();
    }
  }
}
