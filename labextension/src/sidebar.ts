/**
 * The Code Interpreter sidebar: bound to the active notebook, it shows that notebook's thread
 * (streamed runs, session.ts), a header with its kernel status (header.ts), what keeps a run from
 * starting if anything (banners.ts, with "Connect a model", connectForm.ts), and the prompt box
 * (composer.ts). The thread follows its end while runs stream (scrollFollow.ts).
 */

import type { ISessionContextDialogs } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Poll } from '@lumino/polling';
import { Panel, Widget } from '@lumino/widgets';

import type { Uploader } from './attach';
import { AttachmentTray } from './attachTray';
import { renderBanners } from './banners';
import { Composer } from './composer';
import { ConnectForm } from './connectForm';
import { folderOf } from './fileLinks';
import { SidebarHeader } from './header';
import { codeInterpreterIcon } from './icon';
import { APIError, getConfig, IServerConfig, listModels } from './request';
import { ScrollFollow } from './scrollFollow';
import { NotebookSession } from './session';

export const SIDEBAR_ID = 'jp-codeinterp-sidebar';

export interface ISidebarOptions {
  /** The session of a notebook panel (created on first use). */
  sessionFor: (panel: NotebookPanel) => NotebookSession;
  sessionDialogs: ISessionContextDialogs | null;
  autoScroll: () => boolean;
  /** Uploads attached files (null: attaching is not available). */
  uploader: Uploader | null;
}

/** How often the shown notebook is checked for runs started elsewhere, while the page is visible. */
const RUNS_POLL_MS = 3000;

export class CodeInterpreterSidebar extends Panel {
  constructor(private _options: ISidebarOptions) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('jp-codeinterp-sidebar');
    this.title.icon = codeInterpreterIcon;
    this.title.caption = 'Code Interpreter';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Code Interpreter');
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

    this._header = new SidebarHeader(() => {
      this._session?.newThread();
      this._refresh();
      this.focusInput();
    });
    this.addWidget(this._header);

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
    this._scroll = new ScrollFollow(
      this._threadArea.node,
      this._options.autoScroll
    );
    this.addWidget(this._threadArea);

    this._tray = new AttachmentTray(_options.uploader, items =>
      this._composer.setAttachments(items)
    );
    this._composer = new Composer({
      send: () => void this._submit(),
      stop: () => void this._doStop(),
      approvalChanged: mode => {
        this._session?.setApproval(mode);
        this._refresh();
      },
      attach: files => void this._attach(files),
      detach: name => this._tray.remove(name)
    });
    this.addWidget(this._composer);
    // Files dropped anywhere on the sidebar are attached to the prompt.
    this.node.addEventListener('dragover', event => {
      if (this._session && event.dataTransfer?.types.includes('Files')) {
        event.preventDefault();
        event.dataTransfer.dropEffect = 'copy';
        this.node.dataset.dropping = 'true';
      }
    });
    this.node.addEventListener('dragleave', () => {
      delete this.node.dataset.dropping;
    });
    this.node.addEventListener('drop', event => {
      delete this.node.dataset.dropping;
      const files = [...(event.dataTransfer?.files ?? [])];
      if (files.length && this._session) {
        event.preventDefault();
        void this._attach(files);
      }
    });
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
    this._composer.focus();
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
      this._scroll.watch(this._session.view.node);
      this._session.loaded
        .then(() => this._scroll.toEnd(true))
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

  private async _submit(): Promise<void> {
    const prompt = this._composer.prompt;
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
      await session.send(
        prompt,
        this._composer.modelFor(this._config),
        session.approval(this._config?.approval ?? 'auto'),
        this._tray.paths
      );
      this._composer.clear();
      this._tray.clear();
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

  /** Upload files into the notebook's folder and put them on the prompt. */
  private async _attach(files: File[]): Promise<void> {
    const session = this._session;
    if (!session) {
      return;
    }
    await this._tray.add(
      files,
      folderOf(session.panel.context.path),
      this._config?.max_file_bytes ?? 0
    );
  }

  private async _doStop(): Promise<void> {
    try {
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
    this._scroll.toEnd(false);
    if (this._composer.running !== !!this._session?.activeRunId) {
      this._refreshButtons();
    }
  }

  private _refresh(): void {
    this._renderBanners();
    this._refreshButtons();
    this._composer.setModels(this._config, this._models);
    this._composer.setApproval(
      this._session?.approval(this._config?.approval ?? 'auto') ?? 'auto'
    );
  }

  private _refreshButtons(): void {
    const session = this._session;
    const running = !!session?.activeRunId;
    const kernel = !!this._panel?.sessionContext.session?.kernel;
    const problem = !!this._config?.problem || !!this._configError;
    this._header.update_(
      this._panel,
      !!session && !running,
      session?.spending() ?? null
    );
    this._composer.setState({
      ready: !!session,
      running,
      blocked: this._sending || !kernel || problem
    });
    this.node.dataset.active = running ? 'true' : 'false';
  }

  private _renderBanners(): void {
    const ctx = this._panel?.sessionContext;
    const starting =
      ctx?.isReady === false && ctx.kernelDisplayStatus === 'starting';
    renderBanners(
      this._banners.node,
      {
        configProblem: this._config?.problem || this._configError,
        canConnect: !!this._config?.problem,
        kernel: !ctx
          ? null
          : ctx.session?.kernel
            ? 'running'
            : starting
              ? 'starting'
              : 'none',
        error: this._error
      },
      {
        connect: () => this.openConnectForm(),
        checkAgain: () => void this.refreshConfig(),
        startKernel: () => void this._startKernel()
      }
    );
  }

  dispose(): void {
    this._scroll.dispose();
    this._runsPoll.dispose();
    super.dispose();
  }

  private _runsPoll: Poll;
  private _tray: AttachmentTray;
  private _header: SidebarHeader;
  private _banners: Widget;
  private _connectForm: ConnectForm;
  private _threadArea: Panel;
  private _noNotebook: Widget;
  private _scroll: ScrollFollow;
  private _composer: Composer;
  private _panel: NotebookPanel | null = null;
  private _session: NotebookSession | null = null;
  private _config: IServerConfig | null = null;
  private _configError = '';
  private _models: string[] = [];
  private _error = '';
  private _sending = false;
}
