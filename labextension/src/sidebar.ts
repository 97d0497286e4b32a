/**
 * The Code Interpreter sidebar: bound to the active notebook, it shows that notebook's thread
 * (streamed runs), its kernel status, what is wrong with the configuration if anything, and a
 * prompt box (Enter sends, Shift+Enter adds a line) with Send / Stop.
 */

import type { ISessionContextDialogs } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Poll } from '@lumino/polling';
import { Panel, Widget } from '@lumino/widgets';

import { ConnectForm } from './connectForm';
import { codeInterpreterIcon } from './icon';
import { APIError, getConfig, IServerConfig, listModels } from './request';
import { NotebookSession } from './session';

export const SIDEBAR_ID = 'jp-codeinterp-sidebar';

export interface ISidebarOptions {
  /** The session of a notebook panel (created on first use). */
  sessionFor: (panel: NotebookPanel) => NotebookSession;
  sessionDialogs: ISessionContextDialogs | null;
  autoScroll: () => boolean;
}

function el<K extends keyof HTMLElementTagNameMap>(
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

/** The help shown below a configuration problem. */
const CONFIG_HELP =
  'Set the variables in the environment that starts Jupyter, then restart it: ' +
  'OPENAI_API_KEY for the key, OPENAI_BASE_URL for another OpenAI-compatible endpoint ' +
  '(a local server may need no key), CODEINTERP_MODEL for the model. ' +
  'Or set c.CodeInterpreter.api_key / base_url / model in a Jupyter config file. ' +
  'To check the install, run `jupyter codeinterp doctor` in a terminal.';

/** How often the shown notebook is checked for runs started elsewhere, while the page is visible. */
const RUNS_POLL_MS = 3000;

export class CodeInterpreterSidebar extends Panel {
  constructor(private _options: ISidebarOptions) {
    super();
    // Runs started by a script or another window show up, and write their cells, without a reload.
    this._runsPoll = new Poll({
      name: 'codeinterp:runs-in-progress',
      factory: async () => {
        const session = this._session;
        if (session && !session.isDisposed && !session.activeRunId) {
          await session.checkForRuns();
        }
      },
      frequency: { interval: RUNS_POLL_MS, backoff: true, max: 15_000 },
      standby: 'when-hidden'
    });
    this.id = SIDEBAR_ID;
    this.addClass('jp-codeinterp-sidebar');
    this.title.icon = codeInterpreterIcon;
    this.title.caption = 'Code Interpreter';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Code Interpreter');

    // Header: name, notebook, kernel status, new thread.
    const header = new Widget();
    header.addClass('jp-codeinterp-header');
    const titleRow = el('div', 'jp-codeinterp-title-row');
    const h = el('h2', 'jp-codeinterp-title', 'Code Interpreter');
    this._newThread = el(
      'button',
      'jp-Button jp-mod-styled jp-mod-minimal jp-codeinterp-new',
      'New thread'
    );
    this._newThread.type = 'button';
    this._newThread.title = 'Start a new conversation for this notebook';
    this._newThread.addEventListener('click', () => {
      this._session?.newThread();
      this._refresh();
      this.focusInput();
    });
    titleRow.append(h, this._newThread);
    const ctx = el('div', 'jp-codeinterp-context');
    this._notebookName = el('span', 'jp-codeinterp-notebook');
    this._kernel = el('span', 'jp-codeinterp-kernel');
    this._kernel.setAttribute('aria-live', 'polite');
    ctx.append(this._notebookName, this._kernel);
    header.node.append(titleRow, ctx);
    this.addWidget(header);

    // Banners: configuration problem, missing kernel, request errors.
    this._banners = new Widget();
    this._banners.addClass('jp-codeinterp-banners');
    this.addWidget(this._banners);
    // "Connect a model" (connectForm.ts): opened from the banner or the command palette.
    this._connectForm = new ConnectForm({
      changed: () => void this.refreshConfig()
    });
    this.addWidget(this._connectForm);

    // The thread of the active notebook.
    this._threadArea = new Panel();
    this._threadArea.addClass('jp-codeinterp-thread-area');
    this._threadArea.node.setAttribute('aria-label', 'Conversation');
    this._threadArea.node.tabIndex = -1;
    this._noNotebook = new Widget();
    this._noNotebook.addClass('jp-codeinterp-empty');
    this._noNotebook.node.innerHTML =
      '<p class="jp-codeinterp-empty-title">Open a notebook to start.</p>' +
      '<p>The Code Interpreter works on the active notebook: it runs code in that notebook’s kernel and adds the cells it writes to it.</p>';
    this._threadArea.addWidget(this._noNotebook);
    // Content that grows after the last event (images, markdown) keeps the view at the bottom.
    this._resizeObserver = new ResizeObserver(() => {
      if (this._followScroll && this._options.autoScroll()) {
        const node = this._threadArea.node;
        node.scrollTop = node.scrollHeight;
      }
    });
    // Only the user's own scrolling (wheel, touch, keys, scrollbar) decides whether to follow the
    // end; content that shrinks and grows back while rendering must not.
    const userInput = () => (this._userScrollAt = Date.now());
    for (const type of ['wheel', 'touchmove', 'keydown', 'mousedown']) {
      this._threadArea.node.addEventListener(type, userInput, {
        passive: true
      });
    }
    this._threadArea.node.addEventListener('scroll', () => {
      if (Date.now() - this._userScrollAt > 1000) {
        return;
      }
      const node = this._threadArea.node;
      this._followScroll =
        node.scrollHeight - node.scrollTop - node.clientHeight < 80;
    });
    this.addWidget(this._threadArea);

    // Composer.
    const composer = new Widget();
    composer.addClass('jp-codeinterp-composer');
    const label = el('label', 'jp-codeinterp-sr-only', 'Prompt');
    label.htmlFor = 'jp-codeinterp-input';
    this._input = el('textarea', 'jp-codeinterp-input jp-mod-styled');
    this._input.id = 'jp-codeinterp-input';
    this._input.rows = 3;
    this._input.placeholder = 'Ask the Code Interpreter…';
    this._input.setAttribute('aria-label', 'Prompt for the Code Interpreter');
    this._input.setAttribute('aria-describedby', 'jp-codeinterp-hint');
    this._input.addEventListener('keydown', this._onKeyDown);
    this._input.addEventListener('input', () => this._refreshButtons());
    const row = el('div', 'jp-codeinterp-composer-row');
    this._hint = el(
      'span',
      'jp-codeinterp-hint',
      'Enter to send · Shift+Enter for a new line'
    );
    this._hint.id = 'jp-codeinterp-hint';
    this._send = el(
      'button',
      'jp-Button jp-mod-styled jp-mod-accept jp-codeinterp-send',
      'Send'
    );
    this._send.type = 'button';
    this._send.setAttribute('aria-label', 'Send prompt');
    this._send.addEventListener('click', () => void this._submit());
    this._stop = el(
      'button',
      'jp-Button jp-mod-styled jp-mod-warn jp-codeinterp-stop',
      'Stop'
    );
    this._stop.type = 'button';
    this._stop.setAttribute('aria-label', 'Stop the run');
    this._stop.addEventListener('click', () => void this._doStop());
    row.append(this._hint, this._stop, this._send);
    this._modelInfo = el('div', 'jp-codeinterp-model');
    // The endpoint's models, when the server lists them: the choice applies to the next runs.
    this._modelSelect = el(
      'select',
      'jp-mod-styled jp-codeinterp-model-select'
    );
    this._modelSelect.id = 'jp-codeinterp-model-select';
    this._modelSelect.title = 'Model for the next runs';
    this._modelSelect.addEventListener('change', () => {
      this._chosenModel = this._modelSelect.value;
      this._refresh();
    });
    this._modelHost = el('span', 'jp-codeinterp-model-host');
    const modelRow = el('div', 'jp-codeinterp-model-row');
    const modelLabel = el('label', 'jp-codeinterp-model-label', 'Model');
    modelLabel.htmlFor = this._modelSelect.id;
    modelRow.append(modelLabel, this._modelSelect, this._modelHost);
    composer.node.append(label, this._input, row, modelRow, this._modelInfo);
    this.addWidget(composer);

    this._refresh();
  }

  /** The notebook the sidebar works on. */
  get notebook(): NotebookPanel | null {
    return this._panel;
  }

  get session(): NotebookSession | null {
    return this._session;
  }

  focusInput(): void {
    this._input.focus();
  }

  /** Show the "Connect a model" form (the endpoint, key and model a user brings). */
  openConnectForm(): void {
    void this._connectForm.open();
  }

  /** Bind to another notebook (or none). */
  setNotebook(panel: NotebookPanel | null): void {
    if (panel === this._panel) {
      return;
    }
    if (this._panel) {
      this._panel.sessionContext.statusChanged.disconnect(this._refresh, this);
      this._panel.sessionContext.kernelChanged.disconnect(this._refresh, this);
      this._panel.context.pathChanged.disconnect(this._refresh, this);
    }
    if (this._session) {
      this._session.changed.disconnect(this._refresh, this);
      this._session.eventApplied.disconnect(this._onEvent, this);
      if (!this._session.isDisposed) {
        this._session.view.parent = null;
      }
    }
    this._error = '';
    this._panel = panel;
    this._session = panel ? this._options.sessionFor(panel) : null;
    if (panel && this._session) {
      panel.sessionContext.statusChanged.connect(this._refresh, this);
      panel.sessionContext.kernelChanged.connect(this._refresh, this);
      panel.context.pathChanged.connect(this._refresh, this);
      this._session.changed.connect(this._refresh, this);
      this._session.eventApplied.connect(this._onEvent, this);
      this._noNotebook.node.hidden = true;
      this._threadArea.addWidget(this._session.view);
      this._resizeObserver.disconnect();
      this._resizeObserver.observe(this._session.view.node);
      this._followScroll = true;
      this._session.loaded
        .then(() => this._scrollToEnd(true))
        .catch(error => {
          this._error = `Could not load this notebook's thread: ${error.message ?? error}`;
          this._refresh();
        });
    } else {
      this._noNotebook.node.hidden = false;
    }
    this._refresh();
  }

  /** Fetch the server's configuration and show what is missing, if anything. */
  async refreshConfig(): Promise<void> {
    try {
      this._config = await getConfig();
      this._configError = '';
      this._models = [];
      if (this._config.list_models && !this._config.problem) {
        try {
          this._models = await listModels();
        } catch {
          this._models = [];
        }
      }
    } catch (error) {
      this._config = null;
      this._configError =
        error instanceof APIError && error.status === 404
          ? 'The jupyter-codeinterp server extension is not enabled: run `jupyter server extension enable jupyter_codeinterp` and restart Jupyter.'
          : `Cannot reach the Code Interpreter server extension: ${(error as Error).message}`;
    }
    this._refresh();
  }

  protected onAfterShow(): void {
    void this.refreshConfig();
  }

  private _onKeyDown = (event: KeyboardEvent): void => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void this._submit();
    }
  };

  private async _submit(): Promise<void> {
    const prompt = this._input.value.trim();
    const session = this._session;
    if (!prompt || !session || this._sending || session.activeRunId) {
      return;
    }
    if (!session.panel.sessionContext.session?.kernel) {
      this._error = 'Start a kernel for this notebook first.';
      this._refresh();
      return;
    }
    this._sending = true;
    this._error = '';
    this._refresh();
    try {
      const model =
        this._chosenModel && this._chosenModel !== this._config?.model
          ? this._chosenModel
          : undefined;
      await session.send(prompt, model);
      this._input.value = '';
    } catch (error) {
      if (error instanceof APIError && error.status === 503) {
        await this.refreshConfig();
        this._error = error.message;
      } else {
        this._error = (error as Error).message ?? String(error);
      }
    } finally {
      this._sending = false;
      this._refresh();
    }
  }

  private async _doStop(): Promise<void> {
    try {
      this._stop.disabled = true;
      await this._session?.stop();
    } catch (error) {
      this._error = `Could not stop the run: ${(error as Error).message}`;
    }
    this._refresh();
  }

  private async _startKernel(): Promise<void> {
    const ctx = this._panel?.sessionContext;
    if (!ctx) {
      return;
    }
    try {
      const ask = await ctx.startKernel();
      if (ask && this._options.sessionDialogs) {
        await this._options.sessionDialogs.selectKernel(ctx);
      }
    } catch (error) {
      this._error = `Could not start a kernel: ${(error as Error).message}`;
    }
    this._refresh();
  }

  private _onEvent(): void {
    this._scrollToEnd(false);
    if (this._stop.hidden !== !this._session?.activeRunId) {
      this._refreshButtons();
    }
  }

  private _scrollToEnd(force: boolean): void {
    if (!force && !this._options.autoScroll()) {
      return;
    }
    const node = this._threadArea.node;
    if (!force && !this._followScroll) {
      return;
    }
    requestAnimationFrame(() => {
      node.scrollTop = node.scrollHeight;
    });
  }

  private _refresh(): void {
    const panel = this._panel;
    this._notebookName.textContent = panel
      ? (panel.context.localPath.split('/').pop() ?? panel.context.localPath)
      : 'No notebook';
    this._notebookName.title = panel ? panel.context.path : '';
    const ctx = panel?.sessionContext;
    const kernel = ctx?.session?.kernel;
    const status = !panel
      ? ''
      : kernel
        ? ctx!.kernelDisplayStatus
        : 'no kernel';
    this._kernel.dataset.status = status;
    this._kernel.textContent = panel
      ? kernel
        ? `${ctx!.kernelDisplayName} · ${status}`
        : 'No kernel'
      : '';
    this._kernel.hidden = !panel;
    this._renderBanners();
    this._refreshButtons();
    this._renderModels();
  }

  private _renderModels(): void {
    const config = this._config;
    const models = [...this._models];
    if (config?.model && !models.includes(config.model)) {
      models.unshift(config.model);
    }
    const chosen = this._chosenModel || config?.model || '';
    const choose = models.length > 1;
    const row = this._modelSelect.parentElement!;
    row.hidden = !choose;
    this._modelInfo.hidden = choose;
    if (choose) {
      const current = [...this._modelSelect.options].map(o => o.value);
      if (JSON.stringify(current) !== JSON.stringify(models)) {
        this._modelSelect.replaceChildren(
          ...models.map(m => {
            const option = document.createElement('option');
            option.value = m;
            option.textContent = m;
            return option;
          })
        );
      }
      this._modelSelect.value = chosen;
      this._modelHost.textContent = config?.base_url_host ?? '';
    } else {
      this._modelInfo.textContent = config?.model
        ? `${config.model}${config.base_url_host ? ` · ${config.base_url_host}` : ''}`
        : '';
    }
  }

  private _refreshButtons(): void {
    const session = this._session;
    const active = !!session?.activeRunId;
    this._stop.hidden = !active;
    this._stop.disabled = !active;
    this._send.hidden = active;
    const kernel = !!this._panel?.sessionContext.session?.kernel;
    const problem = !!this._config?.problem || !!this._configError;
    this._send.disabled =
      !session ||
      this._sending ||
      !kernel ||
      problem ||
      !this._input.value.trim();
    this._input.disabled = !session;
    this._newThread.disabled = !session || active;
    this.node.dataset.active = active ? 'true' : 'false';
  }

  private _renderBanners(): void {
    const node = this._banners.node;
    node.replaceChildren();
    const problem = this._config?.problem || this._configError;
    if (problem) {
      const b = el('div', 'jp-codeinterp-banner jp-codeinterp-config-problem');
      b.dataset.kind = 'config';
      b.setAttribute('role', 'alert');
      b.append(
        el(
          'strong',
          'jp-codeinterp-banner-title',
          'The Code Interpreter is not configured'
        ),
        el('p', 'jp-codeinterp-banner-text', problem)
      );
      if (this._config?.problem) {
        b.append(el('p', 'jp-codeinterp-banner-help', CONFIG_HELP));
        const connect = el(
          'button',
          'jp-Button jp-mod-styled jp-mod-accept jp-codeinterp-open-connect',
          'Connect a model…'
        );
        connect.type = 'button';
        connect.addEventListener('click', () => this.openConnectForm());
        b.append(connect);
      }
      const retry = el(
        'button',
        'jp-Button jp-mod-styled jp-mod-reject',
        'Check again'
      );
      retry.type = 'button';
      retry.addEventListener('click', () => void this.refreshConfig());
      b.append(retry);
      node.append(b);
    }
    const panel = this._panel;
    if (panel && !panel.sessionContext.session?.kernel) {
      const starting =
        panel.sessionContext.isReady === false &&
        panel.sessionContext.kernelDisplayStatus === 'starting';
      const b = el('div', 'jp-codeinterp-banner jp-codeinterp-no-kernel');
      b.dataset.kind = 'kernel';
      b.append(
        el(
          'p',
          'jp-codeinterp-banner-text',
          starting
            ? 'Starting the kernel…'
            : 'This notebook has no running kernel. The Code Interpreter runs code in it.'
        )
      );
      if (!starting) {
        const start = el(
          'button',
          'jp-Button jp-mod-styled jp-mod-accept',
          'Start kernel'
        );
        start.type = 'button';
        start.addEventListener('click', () => void this._startKernel());
        b.append(start);
      }
      node.append(b);
    }
    if (this._error) {
      const b = el('div', 'jp-codeinterp-banner jp-codeinterp-error');
      b.dataset.kind = 'error';
      b.setAttribute('role', 'alert');
      b.append(el('p', 'jp-codeinterp-banner-text', this._error));
      node.append(b);
    }
    node.hidden = node.childElementCount === 0;
  }

  dispose(): void {
    this._resizeObserver.disconnect();
    this._runsPoll.dispose();
    super.dispose();
  }

  private _runsPoll: Poll;
  private _connectForm: ConnectForm;
  private _resizeObserver: ResizeObserver;
  private _panel: NotebookPanel | null = null;
  private _session: NotebookSession | null = null;
  private _config: IServerConfig | null = null;
  private _configError = '';
  private _error = '';
  private _sending = false;
  private _followScroll = true;
  private _userScrollAt = 0;
  private _notebookName: HTMLSpanElement;
  private _kernel: HTMLSpanElement;
  private _newThread: HTMLButtonElement;
  private _banners: Widget;
  private _threadArea: Panel;
  private _noNotebook: Widget;
  private _input: HTMLTextAreaElement;
  private _hint: HTMLSpanElement;
  private _send: HTMLButtonElement;
  private _stop: HTMLButtonElement;
  private _modelInfo: HTMLDivElement;
  private _modelSelect: HTMLSelectElement;
  private _modelHost: HTMLSpanElement;
  private _models: string[] = [];
  private _chosenModel = '';
}
