#!/usr/bin/env bash
# Browser benchmark: Enter -> first cell, in real Chromium against a real jupyter lab and the scripted model.
# Writes its section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pytest tests/browser/test_more.py -m bench -k enter_to_first_cell -q -s
