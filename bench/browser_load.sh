#!/usr/bin/env bash
# Browser benchmark: long tasks while code streams at ~1,000 tokens/s and while a step prints 5 MB, in real
# Chromium against a real jupyter lab and the scripted model. Writes its section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pytest tests/browser/test_browser_load.py -m bench -q -s
