"""The figures: a rich table, the JSON results, and a PNG plot of stage times beside their baselines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def _n(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def table(results: dict[str, Any]) -> Table:
    persons = results.get("options", {}).get("persons")
    t = Table(title=f"The county's year at {persons:,} persons (target ≤ {results['target_s']:.0f} s in all)")
    for name, justify in (
        ("stage", "left"),
        ("wall s", "right"),
        ("work", "right"),
        ("baseline", "left"),
        ("baseline s", "right"),
        ("× baseline", "right"),
        ("done", "center"),
    ):
        t.add_column(name, justify=justify)
    for stage in results["stages"]:
        base = stage.get("baseline") or {}
        t.add_row(
            stage["name"],
            _n(stage.get("wall_s")),
            f"{_n(stage.get('units'), 0)} {stage.get('unit', '')}",
            f"{base.get('name', '–')} {_n(base.get('rate'), 0)}/s" if base else "–",
            _n(base.get("seconds"), 2),
            _n(stage.get("ratio"), 0),
            "yes" if stage.get("complete") else stage.get("status", "no"),
        )
    total = results.get("total_s")
    t.add_row("[b]total", f"[b]{_n(total)}", "", "", "", "", "yes" if results.get("complete") else "no")
    return t


def markdown(results: dict[str, Any]) -> str:
    """The same table as Markdown, for docs/PERFORMANCE.md."""
    lines = [
        "| stage | wall s | work | baseline (same run) | baseline s | × baseline | done |",
        "| --- | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for stage in results["stages"]:
        base = stage.get("baseline") or {}
        baseline = f"{base['name']} {base['rate']:,.0f}/s" if base else "–"
        lines.append(
            f"| {stage['name']} | {_n(stage.get('wall_s'))} | {_n(stage.get('units'), 0)} "
            f"{stage.get('unit', '')} | {baseline} | {_n(base.get('seconds'), 2)} | "
            f"{_n(stage.get('ratio'), 0)} | {'yes' if stage.get('complete') else stage.get('status', 'no')} |"
        )
    lines.append(
        f"| **total** | **{_n(results.get('total_s'))}** | | | | | {'yes' if results.get('complete') else 'no'} |"
    )
    return "\n".join(lines)


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")


def _panel(ax, results: dict[str, Any]) -> None:  # noqa: ANN001
    stages = results["stages"]
    walls = [s.get("wall_s") or 0 for s in stages]
    bases = [(s.get("baseline") or {}).get("seconds") or 0 for s in stages]
    y = range(len(stages))
    ax.barh([i + 0.2 for i in y], walls, height=0.4, color="#c0392b", label="measured wall time")
    ax.barh([i - 0.2 for i in y], bases, height=0.4, color="#7f8c8d", label="physical baseline (same run)")
    for i, stage in enumerate(stages):
        if stage.get("wall_s") is None:
            ax.text(0.0011, i + 0.2, " not run", va="center", fontsize=8)
            continue
        mark = "" if stage.get("complete") else "  (gave up waiting: incomplete)"
        if stage.get("span_s"):
            mark += f"  (after stage 4; all SMS span {stage['span_s']:,.0f} s)"
        wall = stage["wall_s"]
        ax.text(wall, i + 0.2, f" {wall:,.{1 if wall >= 10 else 2}f} s{mark}", va="center", fontsize=8)
        if bases[i]:
            ax.text(bases[i], i - 0.2, f" {bases[i]:,.2f} s", va="center", fontsize=8)
    ax.set_yticks(list(y), [s["name"] for s in stages], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(0.001, max([*walls, results["target_s"]]) * 8)
    ax.set_xlabel("seconds (log scale)")
    persons = results.get("options", {}).get("persons", 0)
    load = results.get("machine", {}).get("load_avg_at_start", [])
    total = "incomplete, " if not results.get("complete") else ""
    ax.set_title(
        f"Annual cycle at {persons:,} persons ({results.get('started', '')[:16]} UTC): {total}"
        f"{results.get('total_s', 0):,.0f} s measured (target {results['target_s']:.0f} s); "
        f"2 cores, load avg at start {load}",
        fontsize=8,
    )
    ax.axvline(results["target_s"], color="#2c3e50", linestyle="--", linewidth=0.8)
    ax.text(results["target_s"], -0.55, " 5-min target (whole year)", fontsize=7)
    ax.legend(loc="center right", fontsize=8)


def plot(results: dict[str, Any], path: Path) -> None:
    """Stage times beside their baselines; a reference run (a smaller county run to the end) below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [results, *results.get("reference_runs", [])[:1]]
    heights = [1.3 + 0.75 * len(r["stages"]) for r in runs]
    fig, axes = plt.subplots(len(runs), 1, figsize=(11, sum(heights)), gridspec_kw={"height_ratios": heights})
    for ax, run in zip(axes if len(runs) > 1 else [axes], runs, strict=True):
        _panel(ax, run)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def print_results(results: dict[str, Any]) -> None:
    console = Console()
    console.print(table(results))
    console.print(markdown(results), markup=False)
