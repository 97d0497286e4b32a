/**
 * jupyter-codeinterp frontend: the Code Interpreter sidebar (bound to the active notebook), its
 * commands and settings, and the MIME renderer of the `%%interpret` magic.
 */

import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, ISessionContextDialogs } from '@jupyterlab/apputils';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { Uploader } from './attach';
import { codeInterpreterIcon } from './icon';
import { RUN_MIME_TYPE, RunRenderer } from './mimeRenderer';
import { IUISettings, NotebookSession } from './session';
import { CodeInterpreterSidebar } from './sidebar';
import { untrustedRendermime } from './trust';

const PLUGIN_ID = 'jupyter-codeinterp:plugin';

export namespace CommandIDs {
  export const open = 'codeinterp:open';
  export const stop = 'codeinterp:stop';
  export const newThread = 'codeinterp:new-thread';
  export const connect = 'codeinterp:connect';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Code Interpreter: a sidebar chat that runs model-written code in the notebook kernel.',
  autoStart: true,
  requires: [INotebookTracker, IRenderMimeRegistry],
  optional: [
    ILayoutRestorer,
    ISettingRegistry,
    ICommandPalette,
    IEditorLanguageRegistry,
    ISessionContextDialogs,
    ILabShell,
    IDocumentManager
  ],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    rendermime: IRenderMimeRegistry,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    languages: IEditorLanguageRegistry | null,
    sessionDialogs: ISessionContextDialogs | null,
    _labShell: ILabShell | null,
    docManager: IDocumentManager | null
  ) => {
    const settings: IUISettings = {
      autoScroll: true,
      addPromptCell: true,
      addAnswerCell: true
    };
    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(loaded => {
          const update = () => {
            const c = loaded.composite as Partial<IUISettings>;
            settings.autoScroll = c.autoScroll ?? true;
            settings.addPromptCell = c.addPromptCell ?? true;
            settings.addAnswerCell = c.addAnswerCell ?? true;
          };
          update();
          loaded.changed.connect(update);
        })
        .catch(reason =>
          console.warn('codeinterp: could not load settings', reason)
        );
    }

    const sessions = new Map<NotebookPanel, NotebookSession>();
    const sessionFor = (panel: NotebookPanel): NotebookSession => {
      let session = sessions.get(panel);
      if (!session || session.isDisposed) {
        session = new NotebookSession(panel, {
          // The notebook's own registry: its outputs resolve relative paths like the notebook does;
          // with a stricter sanitiser for what the model's code outputs (see trust.ts).
          rendermime: untrustedRendermime(
            panel.content.rendermime ?? rendermime
          ),
          languages,
          settings: () => settings,
          openFile: path =>
            void app.commands.execute('docmanager:open', { path }),
          downloadUrl: path => app.serviceManager.contents.getDownloadUrl(path)
        });
        sessions.set(panel, session);
        panel.disposed.connect(() => sessions.delete(panel));
      }
      return session;
    };

    const sidebar = new CodeInterpreterSidebar({
      sessionFor,
      sessionDialogs,
      autoScroll: () => settings.autoScroll,
      uploader: docManager
        ? new Uploader(docManager, app.serviceManager.contents)
        : null
    });
    sidebar.title.caption = 'Code Interpreter';
    app.shell.add(sidebar, 'left', { rank: 650 });
    if (restorer) {
      restorer.add(sidebar, 'codeinterp-sidebar');
    }

    const bind = () => sidebar.setNotebook(tracker.currentWidget);
    tracker.currentChanged.connect(bind);
    // A notebook whose run was going when the page was reloaded resumes writing even before
    // the sidebar is opened on it.
    tracker.widgetAdded.connect((_, panel) => {
      void sessionFor(panel).loaded.catch(() => undefined);
    });
    tracker.forEach(
      panel => void sessionFor(panel).loaded.catch(() => undefined)
    );
    bind();
    void sidebar.refreshConfig();

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open Code Interpreter',
      caption: 'Open the Code Interpreter sidebar and focus its prompt',
      icon: codeInterpreterIcon,
      execute: () => {
        app.shell.activateById(sidebar.id);
        // The panel becomes visible on the next frame.
        requestAnimationFrame(() => sidebar.focusInput());
      }
    });
    app.commands.addCommand(CommandIDs.stop, {
      label: 'Stop the Code Interpreter run',
      isEnabled: () => !!sidebar.session?.activeRunId,
      execute: () => sidebar.session?.stop()
    });
    app.commands.addCommand(CommandIDs.newThread, {
      label: 'New Code Interpreter thread',
      isEnabled: () => !!sidebar.session && !sidebar.session.activeRunId,
      execute: () => sidebar.session?.newThread()
    });
    app.commands.addCommand(CommandIDs.connect, {
      label: 'Connect a model…',
      caption:
        'Set the endpoint, API key and model the Code Interpreter uses (kept on the server, never shown again)',
      execute: () => {
        app.shell.activateById(sidebar.id);
        sidebar.openConnectForm();
      }
    });
    if (palette) {
      const category = 'Code Interpreter';
      palette.addItem({ command: CommandIDs.connect, category });
      palette.addItem({ command: CommandIDs.open, category });
      palette.addItem({ command: CommandIDs.stop, category });
      palette.addItem({ command: CommandIDs.newThread, category });
    }

    // The `%%interpret` renderer, in every notebook opened from now on.
    rendermime.addFactory(
      {
        safe: true,
        mimeTypes: [RUN_MIME_TYPE],
        defaultRank: 40,
        createRenderer: options =>
          new RunRenderer(options, {
            tracker,
            // Cloned on first use, once every plugin has added its renderers.
            rendermime: () => untrustedRendermime(rendermime),
            languages,
            autoScroll: () => settings.autoScroll
          })
      },
      40
    );
  }
};

export default plugin;
