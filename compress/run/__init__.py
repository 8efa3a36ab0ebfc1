"""``compress run``: one config drives distill -> export -> bench -> a gated, checksummed release folder."""

from compress.run.pipeline import RunResult, run_pipeline

__all__ = ["RunResult", "run_pipeline"]
