"""The ``compress`` command line: thin typer commands that import their stage lazily."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from compress.errors import CompressError

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Distill a Sentence Transformer into a small, fast ONNX model, and prove what was kept.")

F = TypeVar("F", bound=Callable[..., Any])

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file.")]
SetOption = Annotated[list[str] | None, typer.Option("--set", help="Override a config key: section.key=value.")]


def handle_errors(func: F) -> F:
    """Print a CompressError once, as 'error: ...' on stderr, and exit with its code (2)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CompressError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
         quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Warnings only, no progress bars.")] = False,
         ) -> None:
    """st-compress: distill, export, benchmark and release embedding models."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if quiet:
        import os

        os.environ["ST_COMPRESS_QUIET"] = "1"


@app.command()
@handle_errors
def distill(config: ConfigOption = None, set_: SetOption = None,
            out: Annotated[Path | None, typer.Option("--out", help="Student folder (default: output.dir).")] = None,
            ) -> None:
    """Distill the teacher into a student: a sentence-transformers folder plus distill_report.json."""
    from compress.config import load_config

    cfg = load_config(config, set_ or [])
    from compress.distill import distill as run_distill

    result = run_distill(cfg, out)
    summary = {"student_dir": str(result.student_dir), "report": str(result.report_path),
               "sts_spearman": result.report["sts_spearman"]}
    typer.echo(json.dumps(summary, indent=2))


@app.command("check-config")
@handle_errors
def check_config(config: ConfigOption = None, set_: SetOption = None) -> None:
    """Validate a config and print it resolved, with every default filled in."""
    from compress.config import load_config

    typer.echo(json.dumps(load_config(config, set_ or []).to_dict(), indent=2))


@app.command("export")
@handle_errors
def export_cmd(student_dir: Annotated[Path, typer.Argument(help="A sentence-transformers folder.")],
               out_dir: Annotated[Path, typer.Argument(help="The artifact folder to write.")],
               targets: Annotated[str | None, typer.Option(help="Comma-separated: avx2,avx512,avx512_vnni,arm64.")]
               = None,
               static: Annotated[bool, typer.Option("--static", help="Also static (QDQ) int8 per target.")] = False,
               config: ConfigOption = None, set_: SetOption = None) -> None:
    """Export to ONNX (parity-checked), optimize, and quantize per target behind the accuracy gate.

    Exit codes: 0 every quantized file passed its gate, 1 a gate or the parity check failed, 2 bad input.
    """
    from compress.config import load_config

    overrides = list(set_ or [])
    if targets:
        overrides.append("export.targets=" + json.dumps([t.strip() for t in targets.split(",") if t.strip()]))
    if static:
        overrides.append("export.static=true")
    cfg = load_config(config, overrides)
    from export.stage import run_export

    result = run_export(cfg, student_dir, out_dir)
    typer.echo(json.dumps({"out_dir": str(result.out_dir), "passed": result.passed,
                           "quantized": {k: {"passed": v["passed"], "score": v["score"]}
                                         for k, v in result.report["quantized"].items()}}, indent=2))
    if not result.passed:
        raise typer.Exit(1)


@app.command()
@handle_errors
def verify(artifact_dir: Annotated[Path, typer.Argument(help="An artifact folder with manifest.json.")]) -> None:
    """Re-check every sha256 in an artifact's manifest; exit 1 on any mismatch."""
    from export.manifest import verify as verify_folder

    bad = verify_folder(artifact_dir)
    for name in bad:
        typer.echo(f"mismatch: {name}", err=True)
    typer.echo(json.dumps({"artifact": str(artifact_dir), "ok": not bad, "mismatches": bad}))
    if bad:
        raise typer.Exit(1)


@app.command()
@handle_errors
def serve(artifact: Annotated[Path, typer.Argument(help="An artifact folder from compress export.")],
          host: Annotated[str, typer.Option(help="Bind address (loopback unless you say otherwise).")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
          target: Annotated[str, typer.Option(help="auto, fp32, avx2, avx512, avx512_vnni or arm64.")] = "auto",
          threads: Annotated[int | None, typer.Option(help="onnxruntime threads (default: cores, at most 4).")]
          = None,
          api_key: Annotated[str | None, typer.Option(envvar="ST_COMPRESS_API_KEY",
                                                      help="Require 'Authorization: Bearer KEY'.")] = None,
          max_items: Annotated[int, typer.Option(help="Most input items per request (422 beyond).")] = 256,
          max_chars: Annotated[int, typer.Option(help="Most characters per item (422 beyond).")] = 8192,
          max_body_bytes: Annotated[int, typer.Option(help="Largest request body (413 beyond).")] = 1 << 20,
          max_queue: Annotated[int, typer.Option(help="Most queued texts before 503.")] = 1024) -> None:
    """Serve an artifact: OpenAI-compatible POST /v1/embeddings, GET /health, /info, /metrics (no torch)."""
    from serve.app import ServerSettings
    from serve.server import build_server

    settings = ServerSettings(max_body_bytes=max_body_bytes, max_items=max_items, max_chars=max_chars,
                              api_key=api_key, max_queue=max_queue)
    build_server(artifact, host, port, target, threads, settings).run()


@app.command()
@handle_errors
def bench(models: Annotated[list[str] | None, typer.Argument(help="label=path, path, or artifact:onnx/file.onnx")]
          = None,
          profiles: Annotated[str | None, typer.Option(help="Comma-separated profile names.")] = None,
          teacher: Annotated[str | None, typer.Option(help="Teacher spec ('none' to skip).")] = None,
          data: Annotated[Path | None, typer.Option(help="Data folder with corpus/ and stsb/.")] = None,
          out: Annotated[Path | None, typer.Option(help="Output folder (default bench.out_dir).")] = None,
          as_json: Annotated[bool, typer.Option("--json", help="Print the summary JSON on stdout.")] = False,
          config: ConfigOption = None, set_: SetOption = None) -> None:
    """Latency and accuracy of every model x profile, each in its own subprocess.

    Writes bench.json, bench.md and pareto.png. Exit codes: 0 all gates pass, 1 a gate failed, 2 bad input.
    """
    import sys

    from compress.config import load_config

    overrides = list(set_ or [])
    if models:
        overrides.append("bench.models=" + json.dumps(models))
    if profiles:
        overrides.append("bench.profiles=" + json.dumps([p.strip() for p in profiles.split(",") if p.strip()]))
    if teacher:
        overrides.append("bench.teacher=" + json.dumps(teacher))
    if data:
        overrides += [f"data.corpus={json.dumps(str(data / 'corpus' / 'sentences.txt.gz'))}",
                      f"data.sts_test={json.dumps(str(data / 'stsb' / 'test.csv'))}"]
    cfg = load_config(config, overrides)
    from compress.bench.stage import run_bench_stage

    doc = run_bench_stage(cfg, "compress " + " ".join(sys.argv[1:]), out)
    summary = {"out_dir": str(out or cfg.bench.out_dir), "gates": doc["gates"],
               "results": [{k: e.get(k) for k in ("model", "profile", "status", "sts_spearman", "retention_percent")}
                           for e in doc["results"]]}
    typer.echo(json.dumps(summary, indent=2) if as_json else f"bench written to {summary['out_dir']}")
    if doc["gates"]["failed"]:
        for failure in doc["gates"]["failed"]:
            typer.echo(f"gate failed: {failure}", err=True)
        raise typer.Exit(1)
