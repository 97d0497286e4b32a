import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-codeinterp:plugin',
  description: 'Code Interpreter sidebar',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    console.log(`jupyter-codeinterp activated in ${app.name}`);
  }
};

export default plugin;
