"""``jupyter codeinterp eval``: how well a model and this loop solve data-analysis tasks (docs/eval.md)."""
