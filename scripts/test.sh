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

echo "== installing jupyter-codeinterp with its test extras (builds the labextension with npm)"
python -m pip install -q --disable-pip-version-check -e ".[test]"

echo "== lint and types"
python -m ruff check jupyter_codeinterp tests bench scripts examples/make_data.py
python -m ruff format --check jupyter_codeinterp tests bench scripts examples/make_data.py
python -m mypy
(cd labextension && npm run --silent lint && npm test --silent)

echo "== tests"
python -m pytest "$@"

if [ $# -eq 0 ]; then
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
