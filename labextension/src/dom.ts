/** Small DOM helpers for the sidebar's hand-built parts. */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** A JupyterLab-styled button (`jp-Button jp-mod-styled` and `className`). */
export function button(
  className: string,
  label: string,
  onClick: () => void
): HTMLButtonElement {
  const node = el('button', `jp-Button jp-mod-styled ${className}`, label);
  node.type = 'button';
  node.addEventListener('click', onClick);
  return node;
}
