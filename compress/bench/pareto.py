"""The accuracy/latency plot: one colour per model, one marker per profile, the frontier drawn per profile.

A point is on the frontier when no other point of its profile is both faster and more accurate: those are the
models worth choosing between; every other point is beaten on both counts by one on the line. Labels live in the
legend (colour = model, marker = profile), so nearby points never hide each other's names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINES: tuple[Any, ...] = ("--", ":", "-.", (0, (5, 1, 1, 1)))


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
    """The plotted accuracy: STS test Spearman, the mean nDCG@10 over the retrieval sets ("ndcg@10"), or one
    set's ("ndcg@10:SET")."""
    if axis == "sts":
        return entry.get("sts_spearman")
    metric, _, name = axis.partition(":")
    results = entry.get("retrieval") or {}
    values = [r[metric] for n, r in results.items() if not name or n == name]
    return sum(values) / len(values) if values else None


def axis_label(axis: str) -> str:
    if axis == "sts":
        return "STS test Spearman x100"
    metric, _, name = axis.partition(":")
    return f"{metric} x100 ({name or 'mean of the retrieval sets'})"


def _plotted(entries: list[dict[str, Any]], axis: str) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("status") == "ok" and accuracy(e, axis) is not None]


def pareto_plot(entries: list[dict[str, Any]], path: Path, axis: str = "sts") -> None:
    """``axis``: the accuracy axis (``accuracy``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    points = _plotted(entries, axis)
    models = list(dict.fromkeys(e["model"] for e in points))
    profiles = list(dict.fromkeys(e["profile"] for e in points))
    colours = {m: plt.get_cmap("tab10" if len(models) <= 10 else "tab20")(i) for i, m in enumerate(models)}
    markers = {p: MARKERS[i % len(MARKERS)] for i, p in enumerate(profiles)}
    fig, ax = plt.subplots(figsize=(12, 6), dpi=110)
    for e in points:
        ax.scatter(e["latency_batch1"]["total"]["p50_ms"], float(accuracy(e, axis) or 0),
                   s=40 + 2.5 * e["size_mb"] ** 0.8,
                   color=colours[e["model"]], marker=markers[e["profile"]], edgecolors="black", linewidths=0.6,
                   alpha=0.85, zorder=3)
    styles = {p: LINES[i % len(LINES)] for i, p in enumerate(profiles)}
    for profile in profiles:
        mine = [e for e in points if e["profile"] == profile]
        xy = [(e["latency_batch1"]["total"]["p50_ms"], float(accuracy(e, axis) or 0)) for e in mine]
        line = sorted(xy[i] for i in frontier(xy))
        ax.step([x for x, _ in line], [y for _, y in line], where="post", linestyle=styles[profile], color="grey",
                linewidth=1.2, zorder=2)
    model_keys = [Line2D([], [], linestyle="", marker="o", markersize=8, color=colours[m], markeredgecolor="black",
                         label=m) for m in models]
    profile_keys = [Line2D([], [], linestyle=styles[p], marker=markers[p], markersize=8, color="grey",
                           markerfacecolor="white", markeredgecolor="black", label=f"{p} (and its frontier)")
                    for p in profiles]
    first = ax.legend(handles=model_keys, title="model", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.add_artist(first)
    ax.legend(handles=profile_keys, title="profile", loc="lower left", bbox_to_anchor=(1.01, 0.0),
              fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("batch-1 latency p50 (ms, log scale; left is faster)")
    ax.set_ylabel(f"{axis_label(axis)} (up is more accurate)")
    ax.set_title("Accuracy vs latency: pick from a frontier line (marker size ~ file size)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    fig.subplots_adjust(left=0.07, right=0.74, top=0.93, bottom=0.1)  # the legends sit right of the axes
    fig.savefig(path)
    plt.close(fig)
