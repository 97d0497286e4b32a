/**
 * "Connect a model": the endpoint, key and model a user brings at runtime (Binder, a JupyterHub whose config
 * they cannot edit). The values go to the server (`POST /codeinterp/connection`), which keeps them for this
 * server process, or on disk when "Remember" is ticked; the key never comes back. "Test connection" lists the
 * endpoint's models through the server. When the admin locked the connection, the form only says so.
 */

import { Widget } from '@lumino/widgets';

import { el } from './dom';
import { APIError, requestAPI } from './request';
import type * as schema from './schema';

export type IConnectionState = schema.ConnectionState;
export type IConnectionTest = schema.ConnectionTest;

export interface IConnectFormOptions {
  /** Called after the connection changed (connected or forgotten): the sidebar reloads its configuration. */
  changed: () => void;
}

export async function getConnection(): Promise<IConnectionState> {
  return requestAPI<IConnectionState>('connection');
}

export async function connectModel(
  body: Record<string, unknown>
): Promise<IConnectionState> {
  return requestAPI<IConnectionState>('connection', {
    method: 'POST',
    body: JSON.stringify(body)
  });
}

export async function forgetConnection(): Promise<IConnectionState> {
  return requestAPI<IConnectionState>('connection', { method: 'DELETE' });
}

/** Test the given settings (the current ones when `body` is empty). */
export async function testConnection(
  body: Record<string, unknown>
): Promise<IConnectionTest> {
  return requestAPI<IConnectionTest>('connection/test', {
    method: 'POST',
    body: JSON.stringify(body)
  });
}

const FIELDS = ['base_url', 'api_key', 'model'] as const;
type Field = (typeof FIELDS)[number];

function button(label: string, kind: string): HTMLButtonElement {
  const b = el('button', `jp-Button jp-mod-styled ${kind}`, label);
  b.type = 'button';
  return b;
}

/** The form, hidden until `open()`; it lives in the sidebar below the banners. */
export class ConnectForm extends Widget {
  constructor(private _options: IConnectFormOptions) {
    super();
    this.addClass('jp-codeinterp-connect');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Connect a model');
    this.hide();

    const heading = el('h3', 'jp-codeinterp-connect-title', 'Connect a model');
    this._current = el('p', 'jp-codeinterp-connect-current');
    this._locked = el('p', 'jp-codeinterp-connect-locked');

    this._form = el('form', 'jp-codeinterp-connect-form');
    this._form.noValidate = true; // the server validates, and its message names the field
    this._inputs = {
      base_url: this._field(
        'base_url',
        'Base URL',
        'url',
        'OpenAI-compatible endpoint: https://api.openai.com/v1, http://localhost:11434 (Ollama), http://localhost:8000/v1 (vLLM)…'
      ),
      api_key: this._field(
        'api_key',
        'API key',
        'password',
        'Sent to this Jupyter server, never shown again.'
      ),
      model: this._field('model', 'Model', 'text', '')
    };
    this._inputs.api_key.autocomplete = 'off';
    this._modelList = el('datalist', '');
    this._modelList.id = 'jp-codeinterp-connect-models';
    this._inputs.model.setAttribute('list', this._modelList.id);
    this._form.append(this._modelList);

    const rememberRow = el('label', 'jp-codeinterp-connect-remember');
    this._remember = el('input', '');
    this._remember.type = 'checkbox';
    this._remember.name = 'remember';
    rememberRow.append(
      this._remember,
      el(
        'span',
        '',
        'Remember on this server, in a file only you can read (otherwise until the server stops)'
      )
    );
    this._form.append(rememberRow);

    this._test = button('Test connection', 'jp-mod-reject');
    this._test.classList.add('jp-codeinterp-connect-test');
    this._test.addEventListener('click', () => void this._doTest());
    this._submit = button('Connect', 'jp-mod-accept');
    this._submit.type = 'submit';
    this._submit.classList.add('jp-codeinterp-connect-submit');
    this._forget = button('Forget', 'jp-mod-warn');
    this._forget.classList.add('jp-codeinterp-connect-forget');
    this._forget.title =
      'Go back to the server’s settings and delete the remembered connection';
    this._forget.addEventListener('click', () => void this._doForget());
    this._cancel = button('Close', 'jp-mod-minimal');
    this._cancel.title = 'Close this form (nothing changes)';
    this._cancel.classList.add('jp-codeinterp-connect-close');
    this._cancel.addEventListener('click', () => this.close());
    const buttons = el('div', 'jp-codeinterp-connect-buttons');
    buttons.append(this._forget, this._test, this._submit);
    this._form.append(buttons);
    this._form.addEventListener('submit', event => {
      event.preventDefault();
      void this._doConnect();
    });

    this._result = el('div', 'jp-codeinterp-connect-result');
    this._result.setAttribute('role', 'status');
    this._result.setAttribute('aria-live', 'polite');
    this._error = el('p', 'jp-codeinterp-connect-error');
    this._error.setAttribute('role', 'alert');

    const top = el('div', 'jp-codeinterp-connect-top');
    top.append(heading, this._cancel);
    this.node.append(
      top,
      this._current,
      this._locked,
      this._form,
      this._result,
      this._error
    );
  }

  /** Show the form with the server's current connection, and focus its first field. */
  async open(): Promise<void> {
    this.show();
    this._showError('');
    this._result.replaceChildren();
    try {
      this._render(await getConnection());
    } catch (error) {
      this._showError(
        `Cannot read the current connection: ${(error as Error).message}`
      );
    }
    const first = this._state?.locked ? this._cancel : this._inputs.base_url;
    first.focus();
  }

  close(): void {
    this._inputs.api_key.value = '';
    this.hide();
  }

  private _field(
    name: Field,
    label: string,
    type: string,
    help: string
  ): HTMLInputElement {
    const id = `jp-codeinterp-connect-${name}`;
    const row = el('div', 'jp-codeinterp-connect-field');
    const l = el('label', 'jp-codeinterp-connect-label', label);
    l.htmlFor = id;
    const input = el('input', 'jp-mod-styled jp-codeinterp-connect-input');
    input.id = id;
    input.name = name;
    input.type = type;
    input.spellcheck = false;
    input.autocapitalize = 'off';
    input.addEventListener('input', () =>
      input.removeAttribute('aria-invalid')
    );
    row.append(l, input);
    if (help) {
      const h = el('div', 'jp-codeinterp-connect-help', help);
      h.id = `${id}-help`;
      input.setAttribute('aria-describedby', h.id);
      row.append(h);
    }
    this._form.append(row);
    return input;
  }

  private _render(state: IConnectionState): void {
    this._state = state;
    const where = state.model
      ? `${state.model}${state.base_url_host ? ` at ${state.base_url_host}` : ''}`
      : 'no model';
    const from =
      state.source === 'runtime'
        ? state.remembered
          ? 'connected here, remembered'
          : 'connected here, until the server stops'
        : 'the server’s settings';
    this._current.textContent = `Now: ${where} (${from}${state.has_api_key ? ', with a key' : ''}).`;
    this._locked.hidden = !state.locked;
    this._form.hidden = state.locked;
    this.node.dataset.locked = state.locked ? 'true' : 'false';
    if (state.locked) {
      this._locked.textContent =
        'The administrator set the model for this server: it cannot be changed here.';
      return;
    }
    this._inputs.base_url.placeholder = state.base_url_host
      ? `Empty: keep ${state.base_url_host}`
      : 'https://api.openai.com/v1';
    this._inputs.api_key.placeholder = state.has_api_key
      ? 'Empty: keep the current key (same endpoint only)'
      : 'Empty for a local server that needs none';
    this._inputs.model.placeholder =
      'e.g. gpt-4.1-mini, llama3.1, qwen2.5-coder';
    if (!this._inputs.model.value) {
      this._inputs.model.value = state.model;
    }
    this._remember.checked = state.remembered;
    this._forget.hidden = state.source !== 'runtime' && !state.remembered;
  }

  /** The filled fields only: what is left empty keeps its current value on the server. */
  private _body(): Record<string, unknown> {
    const body: Record<string, unknown> = {};
    for (const name of FIELDS) {
      const value = this._inputs[name].value.trim();
      if (value) {
        body[name] = value;
      }
    }
    return body;
  }

  private async _busy<T>(work: () => Promise<T>): Promise<T | undefined> {
    this._showError('');
    for (const b of [this._test, this._submit, this._forget]) {
      b.disabled = true;
    }
    this.node.dataset.busy = 'true';
    try {
      return await work();
    } catch (error) {
      this._showError(error);
      return undefined;
    } finally {
      for (const b of [this._test, this._submit, this._forget]) {
        b.disabled = false;
      }
      delete this.node.dataset.busy;
    }
  }

  private async _doTest(): Promise<void> {
    this._result.replaceChildren(el('p', '', 'Asking the endpoint…'));
    const result = await this._busy(() => testConnection(this._body()));
    if (result) {
      this._showTest(result);
    } else {
      this._result.replaceChildren();
    }
  }

  private _showTest(result: IConnectionTest): void {
    this._result.dataset.ok = result.ok ? 'true' : 'false';
    if (!result.ok) {
      this._result.replaceChildren(
        el('p', 'jp-codeinterp-connect-failed', result.problem ?? 'It failed.')
      );
      return;
    }
    this._modelList.replaceChildren(
      ...result.models.map(m => {
        const option = document.createElement('option');
        option.value = m;
        return option;
      })
    );
    const summary = el(
      'p',
      'jp-codeinterp-connect-ok',
      `Reached ${result.base_url_host}: ${result.models.length} model${result.models.length === 1 ? '' : 's'}.` +
        (result.model && result.model_listed === false
          ? ` “${result.model}” is not among them.`
          : '')
    );
    const list = el('ul', 'jp-codeinterp-connect-models');
    list.setAttribute(
      'aria-label',
      'Models of this endpoint (click to choose)'
    );
    for (const m of result.models) {
      const item = el('li', '');
      const pick = el('button', 'jp-codeinterp-connect-model', m);
      pick.type = 'button';
      pick.title = `Use ${m}`;
      pick.dataset.chosen = m === this._inputs.model.value ? 'true' : 'false';
      pick.addEventListener('click', () => {
        this._inputs.model.value = m;
        for (const other of list.querySelectorAll('button')) {
          other.dataset.chosen = other === pick ? 'true' : 'false';
        }
      });
      item.append(pick);
      list.append(item);
    }
    this._result.replaceChildren(summary, list);
  }

  private async _doConnect(): Promise<void> {
    const body = { ...this._body(), remember: this._remember.checked };
    const state = await this._busy(() => connectModel(body));
    if (state) {
      this._inputs.api_key.value = '';
      this._render(state);
      this._options.changed();
      this.close();
    }
  }

  private async _doForget(): Promise<void> {
    const state = await this._busy(() => forgetConnection());
    if (state) {
      this._inputs.model.value = '';
      this._render(state);
      this._result.replaceChildren(
        el('p', '', 'Forgotten: back to the server’s settings.')
      );
      this._options.changed();
    }
  }

  private _showError(error: unknown): void {
    for (const input of Object.values(this._inputs)) {
      input.removeAttribute('aria-invalid');
    }
    if (!error) {
      this._error.textContent = '';
      this._error.hidden = true;
      return;
    }
    const message =
      error instanceof APIError || error instanceof Error
        ? error.message
        : String(error);
    this._error.textContent = message;
    this._error.hidden = false;
    // The server's 400 names the field: mark it.
    for (const name of FIELDS) {
      if (message.includes(`'${name}'`)) {
        this._inputs[name].setAttribute('aria-invalid', 'true');
        this._inputs[name].focus();
      }
    }
  }

  private _state: IConnectionState | null = null;
  private _form: HTMLFormElement;
  private _inputs: Record<Field, HTMLInputElement>;
  private _modelList: HTMLDataListElement;
  private _remember: HTMLInputElement;
  private _current: HTMLParagraphElement;
  private _locked: HTMLParagraphElement;
  private _result: HTMLDivElement;
  private _error: HTMLParagraphElement;
  private _test: HTMLButtonElement;
  private _submit: HTMLButtonElement;
  private _forget: HTMLButtonElement;
  private _cancel: HTMLButtonElement;
}
