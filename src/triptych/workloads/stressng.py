"""Reading stress-ng's YAML metrics document."""

from __future__ import annotations

from typing import Any

import yaml

from triptych.errors import ParseError


def stressng_metrics(output: str, stressor: str) -> dict[str, Any]:
    """The metrics mapping of one stressor from `stress-ng --metrics --yaml` output."""
    try:
        doc = yaml.safe_load(output)
    except yaml.YAMLError as e:
        raise ParseError(
            "stress-ng", f"YAML does not parse ({str(e).splitlines()[0]})", output
        ) from None
    metrics = doc.get("metrics") if isinstance(doc, dict) else None
    if not isinstance(metrics, list):
        raise ParseError("stress-ng", "no 'metrics' list in its YAML", output)
    for entry in metrics:
        if isinstance(entry, dict) and entry.get("stressor") == stressor:
            return entry
    raise ParseError("stress-ng", f"no metrics for stressor {stressor!r}", output)
