"""The accuracy/latency plot: one panel per accuracy (STS, retrieval, index compatibility), one colour per model,
one marker per profile, the frontier drawn per profile.

A point is on the frontier when no other point of its profile is both faster and more accurate: those are the
models worth choosing between; every other point is beaten on both counts by one on the line. Labels live in the
legend (colour = model, marker = profile), so nearby points never hide each other's names. The index panel scores
each model's queries against the teacher's document index: the teacher sits at its own score there, and a model in
another embedding space (another dimension) cannot be placed on it at all, which the panel says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINES: tuple[Any, ...] = ("--", ":", "-.", (0, (5, 1, 1, 1)))
FAMILIES = ("sts", "ndcg@10", "index")  # the panels, in order after the configured one
INDEX = "index"


def frontier(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both: lower x (latency) and higher y (accuracy)."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    best, kept = float("-inf"), []
    for i in order:
        if points[i][1] > best:
            kept.append(i)
            best = points[i][1]
    return kept


def accuracy(entry: dict[str, Any], axis: str = "sts") -> float | None:
    """The plotted accuracy: STS test Spearman; the mean nDCG@10 over the retrieval sets ("ndcg@10"), or one set's
    ("ndcg@10:SET"); or the same of the model's queries against the teacher's index ("index", "index:SET": the
    teacher's own retrieval for the teacher; None where a set could not be scored, as for another space)."""
    if axis == "sts":
        return entry.get("sts_spearman")
    metric, _, name = axis.partition(":")
    key = "retrieval" if metric != INDEX or entry.get("teacher") else INDEX
    results = {n: r for n, r in (entry.get(key) or {}).items() if not name or n == name}
    if not results or any("ndcg@10" not in r for r in results.values()):
        return None
    return sum(r["ndcg@10"] for r in results.values()) / len(results)


def axis_label(axis: str) -> str:
    if axis == "sts":
        return "STS test Spearman x100"
    metric, _, name = axis.partition(":")
    where = name or "mean of the retrieval sets"
    if metric == INDEX:
        return f"nDCG@10 x100 on the teacher's index ({where})"
    return f"{metric} x100 ({where})"


def _plotted(entries: list[dict[str, Any]], axis: str) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("status") == "ok" and accuracy(e, axis) is not None]


def panel_axes(entries: list[dict[str, Any]], first: str = "sts") -> list[str]:
    """``first`` (``bench.pareto_accuracy``), then the other accuracies that were measured."""
    family = first.partition(":")[0]
    return [a for a in [first, *(f for f in FAMILIES if f != family)] if _plotted(entries, a)]


def _elsewhere(entries: list[dict[str, Any]], axis: str) -> list[str]:
    """Models measured on retrieval that cannot be placed on the index panel (another embedding space)."""
    if not axis.startswith(INDEX):
        return []
    placed = {e["model"] for e in _plotted(entries, axis)}
    return list(dict.fromkeys(e["model"] for e in entries if e.get("status") == "ok" and e.get("retrieval")
                              and e["model"] not in placed))


def _panel(ax: Any, entries: list[dict[str, Any]], axis: str, colours: dict[str, Any], markers: dict[str, str],
           styles: dict[str, Any]) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    points = _plotted(entries, axis)
    for e in points:
        ax.scatter(e["latency_batch1"]["total"]["p50_ms"], float(accuracy(e, axis) or 0),
                   s=40 + 2.5 * e["size_mb"] ** 0.8, color=colours[e["model"]], marker=markers[e["profile"]],
                   edgecolors="black", linewidths=0.6, alpha=0.85, zorder=3)
    for profile in styles:
        xy = [(e["latency_batch1"]["total"]["p50_ms"], float(accuracy(e, axis) or 0)) for e in points
              if e["profile"] == profile]
        line = sorted(xy[i] for i in frontier(xy))
        ax.step([x for x, _ in line], [y for _, y in line], where="post", linestyle=styles[profile], color="grey",
                linewidth=1.2, zorder=2)
    if points:  # room around the points, so that a 1-2-5 tick falls near the fastest
        xs = [e["latency_batch1"]["total"]["p50_ms"] for e in points]
        ax.set_xlim(min(xs) / 1.25, max(xs) * 1.25)
    ax.set_xscale("log")  # plain millisecond labels at 1-2-5 steps (not "2x10^0")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("batch-1 latency p50, ms (log scale)")
    ax.set_ylabel(axis_label(axis), fontsize=9)
    elsewhere = _elsewhere(entries, axis)
    note = f"\nnot in the teacher's space, cannot search its index: {', '.join(elsewhere)}" if elsewhere else ""
    ax.set_title({"sts": "Sentence similarity", INDEX: "Index compatibility"}.get(
        axis.partition(":")[0], "Retrieval, alone") + note, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)


def pareto_plot(entries: list[dict[str, Any]], path: Path, axis: str = "sts") -> None:
    """``axis``: the first panel's accuracy (``accuracy``); the other measured accuracies follow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    axes = panel_axes(entries, axis) or [axis]
    points = [e for a in axes for e in _plotted(entries, a)]
    models = list(dict.fromkeys(e["model"] for e in entries if e.get("status") == "ok"))
    profiles = list(dict.fromkeys(e["profile"] for e in points))
    colours = {m: plt.get_cmap("tab10" if len(models) <= 10 else "tab20")(i) for i, m in enumerate(models)}
    markers = {p: MARKERS[i % len(MARKERS)] for i, p in enumerate(profiles)}
    styles = {p: LINES[i % len(LINES)] for i, p in enumerate(profiles)}
    fig, panels = plt.subplots(1, len(axes), figsize=(5.2 * len(axes) + 3.2, 5.4), dpi=110, squeeze=False)
    for ax, name in zip(panels[0], axes, strict=True):
        _panel(ax, entries, name, colours, markers, styles)
    model_keys = [Line2D([], [], linestyle="", marker="o", markersize=8, color=colours[m], markeredgecolor="black",
                         label=m) for m in models]
    profile_keys = [Line2D([], [], linestyle=styles[p], marker=markers[p], markersize=8, color="grey",
                           markerfacecolor="white", markeredgecolor="black", label=f"{p} (and its frontier)")
                    for p in profiles]
    last = panels[0][-1]
    first = last.legend(handles=model_keys, title="model", loc="upper left", bbox_to_anchor=(1.03, 1.0), fontsize=8)
    last.add_artist(first)
    last.legend(handles=profile_keys, title="profile", loc="lower left", bbox_to_anchor=(1.03, 0.0), fontsize=8)
    fig.suptitle("Accuracy (up is better) vs latency (left is faster): pick from a frontier line; marker size ~ file "
                 "size", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
