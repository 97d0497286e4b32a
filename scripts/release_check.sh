#!/usr/bin/env bash
# The release wheel: build the sdist and the wheel from the committed tree, check what they contain, install the
# wheel into a fresh venv whose PATH has no Node, and check that Jupyter enables both halves and that JupyterLab
# loads the extension in Chromium, and that `jupyter codeinterp doctor` passes against the scripted model.
# Usage: bash scripts/release_check.sh [WORK_DIR]   (default: a temporary folder, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
if [ $# -gt 0 ]; then WORK=$1; mkdir -p "$WORK"; else WORK=$(mktemp -d /tmp/release-check.XXXXXX); trap 'rm -rf "$WORK"' EXIT; fi
start=$(date +%s)

echo "== release: sdist and wheel from HEAD (python -m build: the wheel is built from the sdist)"
rm -rf "$WORK/repo" "$WORK/dist" "$WORK/venv"
mkdir -p "$WORK/repo"
# A clean tree: no jupyter_codeinterp/labextension left over, so skip-if-exists cannot keep a stale build.
git archive HEAD | tar -x -C "$WORK/repo"
(cd "$WORK/repo" && "$PYTHON" -m build --outdir "$WORK/dist" . >"$WORK/build.log" 2>&1) || { tail -40 "$WORK/build.log"; exit 1; }
"$PYTHON" scripts/check_dist.py "$WORK/dist"
built=$(date +%s)

echo "== release: the wheel in a fresh venv, no Node on PATH"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --disable-pip-version-check "$WORK/dist"/*.whl
ONLY_VENV="$WORK/venv/bin"
if PATH=$ONLY_VENV command -v node >/dev/null; then echo "node is on the venv's PATH"; exit 1; fi
isolated=(env -u JUPYTER_CONFIG_DIR -u JUPYTER_PATH -u JUPYTER_DATA_DIR "PATH=$ONLY_VENV"
  "JUPYTER_CONFIG_DIR=$WORK/user-config" "JUPYTER_DATA_DIR=$WORK/user-data")
servers=$("${isolated[@]}" jupyter server extension list 2>&1)
labs=$("${isolated[@]}" jupyter labextension list 2>&1)
grep -E "jupyter_codeinterp .*enabled" <<<"$servers" >/dev/null || { echo "$servers"; exit 1; }
grep -E "jupyter-codeinterp v[0-9.]+ .*enabled.*OK" <<<"$labs" >/dev/null || { echo "$labs"; exit 1; }
grep -F "$WORK/venv/share/jupyter/labextensions" <<<"$labs" >/dev/null || { echo "$labs"; exit 1; }
echo "   jupyter server extension list: jupyter_codeinterp enabled; jupyter labextension list: jupyter-codeinterp enabled OK"

echo "== release: jupyter codeinterp doctor from the wheel, against the scripted model"
echo '[{"kind": "tool_call", "name": "python", "arguments": "{\"code\": \"print(6 * 7)\"}", "text": "", "chunk": 12, "delay": 0.0}]' >"$WORK/doctor-script.json"
"$PYTHON" tests/scripted_llm.py --script "$WORK/doctor-script.json" >"$WORK/llm.url" &
llm_pid=$!
for _ in $(seq 50); do [ -s "$WORK/llm.url" ] && break; sleep 0.1; done
set +e
"${isolated[@]}" OPENAI_BASE_URL="$(cat "$WORK/llm.url")" CODEINTERP_MODEL=scripted-model jupyter codeinterp doctor
doctor_rc=$?
set -e
kill "$llm_pid"
[ "$doctor_rc" = 0 ] || { echo "doctor failed ($doctor_rc)"; exit 1; }

echo "== release: JupyterLab from the wheel's venv in Chromium"
"$PYTHON" scripts/lab_smoke.py --python "$WORK/venv/bin/python" --no-node --root "$WORK/repo/examples" \
  --open demo.ipynb --expect-heading "Code Interpreter demo" --screenshot "$WORK/wheel-lab.png"
echo "== release: passed in $(( $(date +%s) - start )) s (build $(( built - start )) s)"
