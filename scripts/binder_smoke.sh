#!/usr/bin/env bash
# Binder without Docker: build what repo2docker would from binder/ and check it in Chromium.
#   1. the repository as repo2docker gets it: the committed tree (git archive HEAD), no build outputs, no node_modules
#   2. a fresh venv (no system site-packages) with binder/environment.yml's packages, installed by pip
#      (conda is not used here: python and nodejs are checked against this machine's instead)
#   3. binder/postBuild, run from the repository root with the venv first on PATH, as repo2docker runs it
#   4. JupyterLab from the venv on examples/demo.ipynb: the extension loads, the notebook opens, and the demo's
#      first prompt runs from the sidebar against the scripted model (pandas and matplotlib in the venv)
# Usage: bash scripts/binder_smoke.sh [WORK_DIR]   (default: a temporary folder, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PYTHON=${PYTHON:-python}
if [ $# -gt 0 ]; then WORK=$1; mkdir -p "$WORK"; else WORK=$(mktemp -d /tmp/binder-smoke.XXXXXX); trap 'rm -rf "$WORK"' EXIT; fi
start=$(date +%s)
# Screenshots go to docs/screenshots only when asked (as for the browser tests), else beside the work files.
if [ -n "${CODEINTERP_SCREENSHOTS:-}" ]; then SHOTS=$REPO/docs/screenshots; else SHOTS=$WORK; fi

echo "== binder smoke: the repository at HEAD in $WORK/repo"
rm -rf "$WORK/repo" "$WORK/venv"
mkdir -p "$WORK/repo"
git archive HEAD | tar -x -C "$WORK/repo"

echo "== binder smoke: a fresh venv with binder/environment.yml's packages"
mapfile -t REQUIREMENTS < <("$PYTHON" - binder/environment.yml <<'EOF'
"""Print environment.yml's packages as pip requirements; check the ones pip cannot install against this machine."""
import re
import shutil
import subprocess
import sys

import yaml

with open(sys.argv[1]) as f:
    env = yaml.safe_load(f)
for dep in env["dependencies"]:
    if isinstance(dep, dict):
        print("\n".join(dep.get("pip", [])))
        continue
    name, spec = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", dep).groups()
    if spec.startswith("=") and not spec.startswith("=="):
        spec = "==" + spec[1:] + ".*"  # conda's python=3.11 is pip's ==3.11.*
    if name == "python":
        have = "%d.%d" % sys.version_info[:2]
        if not re.fullmatch(spec[2:].replace(".*", r"(\..*)?"), have):
            sys.exit(f"environment.yml wants python{spec}, this machine has {have}")
    elif name == "nodejs":
        node = shutil.which("node")
        have = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip() if node else ""
        if not have.startswith("v" + spec[2:].split(".")[0]):
            sys.exit(f"environment.yml wants nodejs{spec}, this machine has {have or 'none'}")
    elif name != "pip":
        print(name + spec)
EOF
)
echo "   ${REQUIREMENTS[*]}"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --disable-pip-version-check "${REQUIREMENTS[@]}"

echo "== binder smoke: binder/postBuild"
(cd "$WORK/repo" && PATH="$WORK/venv/bin:$PATH" bash binder/postBuild)
built=$(date +%s)

echo "== binder smoke: JupyterLab on examples/demo.ipynb in Chromium"
"$PYTHON" scripts/lab_smoke.py --python "$WORK/venv/bin/python" --root "$WORK/repo" --open examples/demo.ipynb \
  --expect-heading "Code Interpreter demo" \
  --ask "Which month had the highest revenue in data/sales.csv? Plot the monthly revenue." \
  --screenshot "$SHOTS/binder-demo.png"
echo "== binder smoke: passed in $(( $(date +%s) - start )) s (venv and postBuild $(( built - start )) s)"
