import { LabIcon } from '@jupyterlab/ui-components';

/** A chat bubble holding a `>_` prompt: talking to something that runs code. */
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2h-7.6l-4.7 3.6A1 1 0 0 1 6 20.8V18H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm0 2v11h3a1 1 0 0 1 1 1v1.8l3.4-2.6a1 1 0 0 1 .6-.2h8V5H4z"/>
    <path d="M7.3 7.3a1 1 0 0 1 1.4 0l2.5 2.5a1 1 0 0 1 0 1.4l-2.5 2.5a1 1 0 1 1-1.4-1.4l1.8-1.8-1.8-1.8a1 1 0 0 1 0-1.4zM12 12.5h4a1 1 0 1 1 0 2h-4a1 1 0 1 1 0-2z"/>
  </g>
</svg>`;

export const codeInterpreterIcon = new LabIcon({
  name: 'jupyter-codeinterp:icon',
  svgstr: svg
});

/** A paperclip: attach files to the prompt. */
const paperclip = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="none" stroke="#616161" stroke-width="2" stroke-linecap="round"
    d="M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9"/>
</svg>`;

export const attachmentIcon = new LabIcon({
  name: 'jupyter-codeinterp:attach',
  svgstr: paperclip
});
