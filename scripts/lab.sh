#!/usr/bin/env bash
# Set up and start JupyterLab with jupyter-codeinterp enabled (README "Quick start").
# Model settings come from the environment: OPENAI_API_KEY, OPENAI_BASE_URL, CODEINTERP_MODEL.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q --disable-pip-version-check -e .
extra=()
if [ "$(id -u)" = 0 ]; then extra+=(--allow-root); fi
exec python -m jupyter lab "${extra[@]}" "$@"
