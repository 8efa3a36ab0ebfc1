"""The ``compress`` command line: thin typer commands that import their stage lazily."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from compress.errors import CompressError
from compress.quant_targets import TARGETS, choices

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Distill a Sentence Transformer into a small, fast ONNX model, and prove what was kept.")

F = TypeVar("F", bound=Callable[..., Any])

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file.")]
SetOption = Annotated[list[str] | None, typer.Option("--set", help="Override a config key: section.key=value.")]


INTERNAL_ERROR = 3
DEFAULT_STUDENT_DIR = Path("runs/student")
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Warnings only, no progress bars (CI logs).")]


def handle_errors(func: F) -> F:
    """Print a CompressError once, as 'error: ...' on stderr, and exit with its code (2, or 1 for a failed check).

    Anything else is a bug: its traceback goes to stderr and the exit code is 3.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import click

        try:
            return func(*args, **kwargs)
        except CompressError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            import traceback

            traceback.print_exc(file=sys.stderr)
            typer.echo(f"internal error: {type(exc).__name__}: {exc}\n  please report it with the traceback above",
                       err=True)
            raise typer.Exit(INTERNAL_ERROR) from None

    return wrapper  # type: ignore[return-value]


def _command_line() -> str:
    """This invocation as a shell command to paste back (reports record it): arguments quoted where needed."""
    import shlex

    return shlex.join(["compress", *sys.argv[1:]])


def set_quiet() -> None:
    """Warnings only; no progress bars, ours or a library's (tqdm reads TQDM_DISABLE when first imported, and
    the commands import their stages, and so tqdm, only after this)."""
    logging.getLogger().setLevel(logging.WARNING)
    os.environ["ST_COMPRESS_QUIET"] = "1"
    os.environ.setdefault("TQDM_DISABLE", "1")


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM (``kill``, a CI job's timeout, ``docker stop``) unwinds like Ctrl-C: ``finally`` blocks run, so
    workers and browsers are stopped and no temporary folder is left; the exit code is 128 + 15."""
    raise SystemExit(128 + signum)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
         quiet: QuietOption = False) -> None:
    """st-compress: distill, export, benchmark and release embedding models."""
    import signal

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # onnxruntime's quantizer logs every tensor at INFO on the root
        handler.addFilter(lambda record: record.name != "root" or record.levelno >= logging.WARNING)
    if quiet:
        set_quiet()
    elif os.environ.get("CI"):  # no progress bars in CI logs, a library's included
        os.environ.setdefault("TQDM_DISABLE", "1")


@app.command()
@handle_errors
def run(config: ConfigOption = None, set_: SetOption = None,
        out: Annotated[Path | None, typer.Option("--out", help="Release folder (default: output.dir).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print a machine-readable summary on stdout.")] = False,
        quiet: QuietOption = False) -> None:
    """Distill, export, quantize, benchmark and report from one config (without --config: the default recipe).

    A stage whose inputs are unchanged is reused; a killed run resumes where it stopped. The release folder appears
    only when complete. Exit codes: 0 every gate passed; 1 a gate failed (the folder is still written, marked
    "failed" in manifest.json and report.md); 2 bad input or config; 3 internal error.
    """
    if quiet:
        set_quiet()
    from compress.config import load_config

    cfg = load_config(config, set_ or [])
    from compress.run import run_pipeline

    result = run_pipeline(cfg, out or Path(cfg.output.dir), _command_line())
    from compress.dist import ranks

    if ranks().main:  # under torchrun the other ranks exit with rank 0's code, silently
        for failure in result.failed:
            typer.echo(f"gate failed: {failure}", err=True)
        status = "passed" if result.passed else "FAILED"
        typer.echo(json.dumps(result.summary, indent=2) if as_json else f"{status}: {result.out_dir}")
    if not result.passed:
        raise typer.Exit(1)


@app.command()
@handle_errors
def init(path: Annotated[Path, typer.Argument(help="Where to write the config.")] = Path("compress.toml"),
         force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False) -> None:
    """Write the default recipe as a commented config file to edit (compress run --config PATH)."""
    from compress.defaults import default_config_text
    from compress.io import write_text_atomic
    from compress.preflight import check_output_file

    check_output_file(path, "config file")
    if path.exists() and not force:
        raise CompressError(f"{path} already exists", "pass --force to overwrite it, or choose another path")
    write_text_atomic(path, default_config_text())
    typer.echo(str(path))


@app.command()
@handle_errors
def distill(config: ConfigOption = None, set_: SetOption = None,
            out: Annotated[Path, typer.Option("--out", help="Student folder to write.")] = DEFAULT_STUDENT_DIR,
            ) -> None:
    """Distill the teacher into a student: a sentence-transformers folder plus distill_report.json."""
    from compress.bench.sets import check_eval_sets
    from compress.config import load_config
    from compress.preflight import check_config_inputs, check_output_dir, check_student_out

    cfg = load_config(config, set_ or [])
    check_student_out(out)
    check_output_dir(Path(cfg.output.cache_dir), "output.cache_dir")
    check_config_inputs(cfg)
    check_eval_sets(cfg)
    from compress.distill.budget import budgeted
    from compress.distill.stage import distill as run_distill

    cfg, budget = budgeted(cfg)
    result = run_distill(cfg, out)
    summary = {"student_dir": str(result.student_dir), "report": str(result.report_path),
               "sts_spearman": result.report["sts_spearman"], **({"budget": budget["choice"]} if budget else {})}
    typer.echo(json.dumps(summary, indent=2))


@app.command("check-config")
@handle_errors
def check_config(config: ConfigOption = None, set_: SetOption = None) -> None:
    """Validate a config and print it resolved, with every default filled in (without --config: the default
    recipe that compress run uses)."""
    from compress.bench.sets import check_eval_sets
    from compress.config import load_config
    from compress.preflight import check_config_inputs

    cfg = load_config(config, set_ or [])
    check_config_inputs(cfg)
    check_eval_sets(cfg)
    typer.echo(json.dumps(cfg.to_dict(), indent=2))


@app.command("export")
@handle_errors
def export_cmd(student_dir: Annotated[Path, typer.Argument(help="A sentence-transformers folder.")],
               out_dir: Annotated[Path, typer.Argument(help="The artifact folder to write.")],
               targets: Annotated[str | None, typer.Option(help=f"Comma-separated: {','.join(TARGETS)}.")]
               = None,
               static: Annotated[bool | None, typer.Option(
                   "--static/--no-static", help="Static (QDQ, batch-invariant) int8 per target beside the row-wise "
                   "and dynamic files (default: the config's export.static, off).")] = None,
               openvino: Annotated[str | None, typer.Option(
                   help="OpenVINO files: auto (when installed), on, off (default: export.openvino).")] = None,
               config: ConfigOption = None, set_: SetOption = None) -> None:
    """Export to ONNX (parity-checked), optimize, and quantize per target behind the accuracy gate.

    Exit codes: 0 every quantized file passed its gate, 1 a gate or the parity check failed, 2 bad input.
    """
    from compress.config import load_config

    overrides = list(set_ or [])
    if targets:
        overrides.append("export.targets=" + json.dumps([t.strip() for t in targets.split(",") if t.strip()]))
    if static is not None:
        overrides.append(f"export.static={str(static).lower()}")
    if openvino is not None:
        overrides.append(f"export.openvino={json.dumps(openvino)}")
    cfg = load_config(config, overrides)
    from compress.preflight import check_data_files, check_output_dir

    check_output_dir(out_dir, "artifact folder")
    check_data_files(cfg)
    from export.stage import run_export

    result = run_export(cfg, student_dir, out_dir)
    int8 = {**result.report["quantized"], **(result.report.get("openvino") or {}).get("quantized", {})}
    typer.echo(json.dumps({"out_dir": str(result.out_dir), "passed": result.passed,
                           "quantized": {k: {"passed": v["passed"], "score": v["score"],
                                             "batch_invariant": v["batch_invariance"]["invariant"]}
                                         for k, v in int8.items()},
                           "runtime_benchmark": (result.report.get("runtime_benchmark") or {}).get("summary")},
                          indent=2))
    if not result.passed:
        raise typer.Exit(1)


@app.command()
@handle_errors
def verify(artifact_dir: Annotated[Path, typer.Argument(help="An artifact folder with manifest.json.")]) -> None:
    """Re-check every sha256 in an artifact's manifest; exit 1 on any mismatch."""
    from export.artifact.manifest import MANIFEST, read_manifest
    from export.artifact.manifest import verify as verify_folder

    if not (artifact_dir / MANIFEST).is_file():  # not an artifact at all: bad input, not a failed check
        raise CompressError(f"{artifact_dir} has no {MANIFEST}" if artifact_dir.is_dir()
                            else f"{artifact_dir} is not a folder",
                            "pass an artifact folder written by compress export or compress run")
    try:
        status, bad = read_manifest(artifact_dir).get("status"), verify_folder(artifact_dir)
    except CompressError as exc:  # a damaged manifest fails the check: it cannot vouch for any file
        status, bad = None, [f"manifest.json ({exc.message})"]
    for name in bad:
        typer.echo(f"mismatch: {name}", err=True)
    typer.echo(json.dumps({"artifact": str(artifact_dir), "ok": not bad, "mismatches": bad, "status": status}))
    if bad:
        raise typer.Exit(1)


@app.command()
@handle_errors
def serve(artifact: Annotated[Path, typer.Argument(help="An artifact folder from compress export.")],
          host: Annotated[str, typer.Option(help="Bind address (loopback unless you say otherwise).")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8080,
          target: Annotated[str, typer.Option(help=f"{choices('auto', 'fp32')}.")] = "auto",
          runtime: Annotated[str, typer.Option(
              help="auto (the one the artifact measured fastest on this ISA), onnxruntime or openvino.")] = "auto",
          threads: Annotated[int | None, typer.Option(
              help="Inference threads (default: cores, at most 4; static models 1).")] = None,
          api_key: Annotated[str | None, typer.Option(envvar="ST_COMPRESS_API_KEY",
                                                      help="Require 'Authorization: Bearer KEY'.")] = None,
          max_items: Annotated[int, typer.Option(help="Most input items per request (422 beyond).", min=1)] = 256,
          max_chars: Annotated[int, typer.Option(help="Most characters per item (422 beyond).", min=1)] = 8192,
          max_body_bytes: Annotated[int, typer.Option(help="Largest request body (413 beyond).", min=1)] = 1 << 20,
          max_queue: Annotated[int, typer.Option(help="Most queued texts before 503.", min=1)] = 1024) -> None:
    """Serve an artifact: OpenAI-compatible POST /v1/embeddings, GET /health, /info, /metrics (no torch)."""
    from export.artifact.load import resolve_runtime
    from serve.app import ServerSettings
    from serve.server import build_server, check_bind

    resolve_runtime(artifact, runtime)  # an unknown runtime, or openvino without the extra: exit 2 before binding
    check_bind(host, port)
    settings = ServerSettings(max_body_bytes=max_body_bytes, max_items=max_items, max_chars=max_chars,
                              api_key=api_key, max_queue=max_queue)
    build_server(artifact, host, port, target, threads, settings, runtime).run()


def _named_sets(kind: str, values: list[str] | None) -> list[str]:
    """``--sts`` / ``--retrieval`` NAME=PATH as overrides of bench.sts_sets / bench.retrieval_sets."""
    from compress.errors import CompressError

    overrides = []
    for value in values or []:
        name, sep, path = value.partition("=")
        if not sep or not name.strip() or not path.strip() or "." in name:
            raise CompressError(f"--{kind} {value!r} is not NAME=PATH", f"write e.g. --{kind} mine=path/to/"
                                + ("pairs.csv" if kind == "sts" else "beir-folder") + " (no dot in NAME)")
        overrides.append(f"bench.{kind}_sets.{name.strip()}={json.dumps(path.strip())}")
    return overrides


def _retrieval_under(data: Path, config: Path | None, overrides: list[str]) -> list[str]:
    """``--data``: the config's retrieval sets that live in the default data folder, read from ``data`` instead."""
    from compress.config import DEFAULT_DATA, load_config

    sets = load_config(config, overrides).bench.retrieval_sets
    return [f"bench.retrieval_sets.{name}={json.dumps(str(data / Path(path).relative_to(DEFAULT_DATA)))}"
            for name, path in sets.items() if Path(path).is_relative_to(DEFAULT_DATA)]


@app.command()
@handle_errors
def bench(models: Annotated[list[str] | None, typer.Argument(help="label=path, path, or artifact:onnx/file.onnx")]
          = None,
          profiles: Annotated[str | None, typer.Option(help="Comma-separated profile names.")] = None,
          teacher: Annotated[str | None, typer.Option(
              help="Teacher spec ('none': no teacher, and so no retention gate from the default recipe).")] = None,
          data: Annotated[Path | None, typer.Option(help="Data folder with corpus/ and stsb/.")] = None,
          out: Annotated[Path | None, typer.Option(help="Output folder (default bench.out_dir).")] = None,
          against: Annotated[str | None, typer.Option(
              help="Label of a model to measure every other one against, head-to-head in one process "
                   "(bench.against; gates: bench.max_latency_ratio, bench.min_throughput_ratio).")] = None,
          sts: Annotated[list[str] | None, typer.Option(
              help="NAME=CSV: one more STS set (sentence1,sentence2,score; bench.sts_sets). Repeatable.")] = None,
          retrieval: Annotated[list[str] | None, typer.Option(
              help="NAME=FOLDER: one more retrieval set in BEIR layout (bench.retrieval_sets). Repeatable.")] = None,
          as_json: Annotated[bool, typer.Option("--json", help="Print the summary JSON on stdout.")] = False,
          config: ConfigOption = None, set_: SetOption = None) -> None:
    """Latency and accuracy (STS, retrieval, index compatibility) of every model x profile, each in its own
    subprocess.

    Writes bench.json, bench.md and pareto.png. Exit codes: 0 all gates pass, 1 a gate failed, 2 bad input.
    """
    from compress.config import load_config

    overrides = list(set_ or [])
    if models:
        overrides.append("bench.models=" + json.dumps(models))
    if profiles:
        overrides.append("bench.profiles=" + json.dumps([p.strip() for p in profiles.split(",") if p.strip()]))
    if teacher:
        overrides.append("bench.teacher=" + json.dumps(teacher))
        if teacher.lower() == "none" and config is None:  # the recipe's gates are shares of the teacher's scores
            from compress.gates import BENCH_GATES, GateNeeds

            off = [g for g in BENCH_GATES if g.needs is GateNeeds.TEACHER
                   and not any(o.startswith(f"bench.{g.name}") for o in overrides)]
            overrides += [f"bench.{g.name}={'{}' if g.per_set else 'none'}" for g in off]
    if against:
        overrides.append("bench.against=" + json.dumps(against))
    if data:
        overrides += [f"data.corpus={json.dumps(str(data / 'corpus' / 'sentences.txt.gz'))}",
                      f"data.sts_test={json.dumps(str(data / 'stsb' / 'test.csv'))}",
                      *_retrieval_under(data, config, overrides)]
    overrides += _named_sets("sts", sts) + _named_sets("retrieval", retrieval)
    cfg = load_config(config, overrides)
    from compress.bench.sets import check_eval_sets
    from compress.preflight import check_data_files, check_output_dir, check_peers

    check_output_dir(out or Path(cfg.bench.out_dir), "benchmark folder (--out / bench.out_dir)")
    check_data_files(cfg)
    check_peers(cfg)
    check_eval_sets(cfg)
    from compress.bench.stage import run_bench_stage

    doc = run_bench_stage(cfg, _command_line(), out)
    summary = {"out_dir": str(out or cfg.bench.out_dir), "gates": doc["gates"],
               "results": [{k: e.get(k) for k in ("model", "profile", "status", "sts_spearman", "retention_percent",
                                                  "head_to_head")} for e in doc["results"]]}
    typer.echo(json.dumps(summary, indent=2) if as_json else f"bench written to {summary['out_dir']}")
    if doc["gates"]["failed"]:
        for failure in doc["gates"]["failed"]:
            typer.echo(f"gate failed: {failure}", err=True)
        raise typer.Exit(1)
