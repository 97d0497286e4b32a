"""The hosted Code Interpreter's API served on the user's own kernels: Files, Containers and Responses under
``/codeinterp/v1``, so code written for ``OpenAI().responses.create(tools=[{"type": "code_interpreter"}])`` runs
unchanged against the Jupyter server (``docs/openai-api.md``).

A thin facade: requests become ordinary runs of the run service, containers are kernels with a folder, and run
events are translated to the Responses shapes. The engine does not know it exists.
"""
