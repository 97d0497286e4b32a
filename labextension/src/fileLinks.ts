/**
 * Files a run wrote, made openable: the list under each step (open in JupyterLab, download), and
 * the answer's mentions of them (`annotations`) turned into relative links, which the notebook's
 * rendermime opens in JupyterLab as it does a notebook's own links. `sandbox:/mnt/data/NAME`, the
 * hosted tool's habit, becomes `NAME`: the working folder is this notebook's.
 */

import type { IFileAnnotation, IFileChange } from './events';
import { el } from './dom';

/** A markdown link target for `path`: relative, each segment percent-encoded. */
export function linkTarget(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/**
 * `answer` with each annotated mention linked: a link's target (a sandbox link) is replaced by the
 * relative path; a plain mention becomes a link; a mention that is a link's text is left as is.
 */
export function linkFiles(
  answer: string,
  annotations: readonly IFileAnnotation[]
): string {
  const spans = [...annotations]
    .filter(a => a.start >= 0 && a.end <= answer.length && a.start < a.end)
    .sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const a of spans) {
    if (a.start < at) {
      continue; // overlapping: keep the first
    }
    const before = answer.slice(0, a.start);
    const after = answer.slice(a.end);
    const mention = answer.slice(a.start, a.end);
    out += answer.slice(at, a.start);
    if (before.endsWith('](')) {
      out += linkTarget(a.path); // the target of a markdown link or image
    } else if (before.endsWith('[') && after.startsWith('](')) {
      out += mention; // the text of a link: it is linked already
    } else if (before.endsWith('`') && after.startsWith('`')) {
      out = out.slice(0, -1) + `[\`${mention}\`](${linkTarget(a.path)})`;
      at = a.end + 1;
      continue;
    } else {
      out += `[${mention}](${linkTarget(a.path)})`;
    }
    at = a.end;
  }
  return out + answer.slice(at);
}

/** `path` (relative to the working folder `folder`, itself relative to the Jupyter root) from the root. */
export function fromRoot(folder: string, path: string): string {
  return folder ? `${folder.replace(/\/+$/, '')}/${path}` : path;
}

/** The folder of a notebook path (`''` for the root). */
export function folderOf(notebookPath: string): string {
  const i = notebookPath.lastIndexOf('/');
  return i < 0 ? '' : notebookPath.slice(0, i);
}

export function formatBytes(n: number): string {
  if (n < 1024) {
    return `${n} B`;
  }
  const units = ['KB', 'MB', 'GB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export interface IFileActions {
  /** Open a file (relative to the working folder) in JupyterLab. */
  open: (path: string) => void;
  /** Where a file (relative to the working folder) downloads from. */
  downloadUrl: (path: string) => Promise<string>;
}

/** Render a step's files into `node`: each opens on click, with a download link beside it. */
export function renderFiles(
  node: HTMLElement,
  files: readonly IFileChange[],
  truncated: boolean,
  actions: IFileActions | null
): void {
  node.replaceChildren();
  node.hidden = files.length === 0 && !truncated;
  if (node.hidden) {
    return;
  }
  node.append(el('span', 'jp-codeinterp-files-title', 'Files written'));
  const list = el('ul', 'jp-codeinterp-file-list');
  for (const file of files) {
    const item = el('li', 'jp-codeinterp-file');
    item.dataset.path = file.path;
    item.dataset.change = file.change;
    const open = el('button', 'jp-codeinterp-file-open', file.path);
    open.type = 'button';
    open.title = `Open ${file.path} in JupyterLab`;
    open.disabled = !actions;
    open.addEventListener('click', () => actions?.open(file.path));
    const meta = el(
      'span',
      'jp-codeinterp-file-meta',
      `${file.change === 'created' ? 'new' : 'changed'} · ${formatBytes(file.size)}`
    );
    item.append(open, meta);
    if (actions) {
      const download = el('a', 'jp-codeinterp-file-download', 'Download');
      download.setAttribute('download', file.path.split('/').pop() ?? '');
      download.title = `Download ${file.path}`;
      void actions.downloadUrl(file.path).then(url => (download.href = url));
      item.append(download);
    }
    list.append(item);
  }
  node.append(list);
  if (truncated) {
    node.append(
      el(
        'span',
        'jp-codeinterp-files-more',
        'The folder is large: this list may be incomplete.'
      )
    );
  }
}
