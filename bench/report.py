"""Presenting the figures: a text table, a latency plot, and the JSON file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SYNTHETIC_NOTE = (
    "Synthetic: corpus text is seed sentences recombined; chunk vectors are {vectors}{hours}, "
    "so dense latency and ANN recall describe FAISS on such vectors, not retrieval quality. "
    "Latencies exclude query embedding (measured separately: encoder/query_p50_ms)."
)
VECTOR_WORDS = {
    "composed": "mixtures of real-encoder sentence vectors plus noise",
    "random": "seeded random unit vectors",
}

COLUMNS = [
    ("build s", "build_s", "{:.1f}"),
    ("disk MB", "disk_mb", "{:.0f}"),
    ("load s", "load_s", "{:.2f}"),
    ("RSS MB", "rss_mb", "{:.0f}"),
    ("RSS q (anon) MB", ("rss_after_queries_mb", "rss_after_queries_anon_mb"), "{:.0f} ({:.0f})"),
    ("bm25 p50/p95 ms", ("bm25/p50_ms", "bm25/p95_ms"), "{:.1f}/{:.1f}"),
    ("bm25 first pass p50/p95", ("bm25/first_pass/p50_ms", "bm25/first_pass/p95_ms"),
     "{:.1f}/{:.1f}"),
    ("dense p50/p95", ("dense/p50_ms", "dense/p95_ms"), "{:.1f}/{:.1f}"),
    ("hybrid p50/p95", ("hybrid/p50_ms", "hybrid/p95_ms"), "{:.1f}/{:.1f}"),
    ("hybrid b32 ms/q", "hybrid/batch32_ms_per_query", "{:.1f}"),
    ("dense", "dense/kind", "{}"),
    ("ANN rec@10", "ann_recall@10", "{:.3f}"),
    ("×rank-bm25", "bm25/speedup_vs_rank_bm25", "{:.0f}×"),
    ("same top10", "bm25/same_top10_as_rank_bm25", "{:.2f}"),
]


def note(results: dict[str, Any]) -> str:
    """The sentence saying what is synthetic."""
    hours = results.get("encoder/hours_for_1000000")
    return SYNTHETIC_NOTE.format(
        vectors=VECTOR_WORDS.get(str(results.get("meta/vectors")), "synthetic"),
        hours=(f" (embedding a million chunks with the real encoder would take about "
               f"{hours:.0f} h here)" if isinstance(hours, (int, float)) else ""),
    )


def table(results: dict[str, Any], sizes: Sequence[int]) -> str:
    """A fixed-width table, one row per size (``-`` where a figure was not measured)."""
    header = ["chunks"] + [name for name, _, _ in COLUMNS]
    rows = [header]
    for n in sizes:
        row = [f"{n:,}"]
        for _, keys, fmt in COLUMNS:
            names = keys if isinstance(keys, tuple) else (keys,)
            values = [results.get(f"{n}/{k}") for k in names]
            row.append("-" if any(v is None for v in values) else fmt.format(*values))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    extra = []
    if "encoder/passages_per_s" in results:
        extra.append(
            f"real encoder: {results['encoder/passages_per_s']:.1f} chunks/s batched, query "
            f"embedding p50 {results['encoder/query_p50_ms']:.1f} ms"
        )
    for n in sizes:
        parts = [f"{kind} recall@10 {results[f'{n}/{kind}/recall@10']:.3f} "
                 f"p50 {results[f'{n}/{kind}/p50_ms']:.2f} ms"
                 for kind in ("hnsw", "ivf") if f"{n}/{kind}/recall@10" in results]
        if f"{n}/exact/p50_ms" in results:
            parts.insert(0, f"exact p50 {results[f'{n}/exact/p50_ms']:.2f} ms")
        if parts:
            extra.append(f"{n:,}: " + "; ".join(parts))
    extra.extend(peer_lines(results, sizes))
    return "\n".join(lines + [""] + extra + ["", note(results)])


def peer_lines(results: dict[str, Any], sizes: Sequence[int]) -> list[str]:
    """One line per size comparing our BM25 with bm25s on the same tokens (where measured)."""
    lines = []
    for n in sizes:
        ours, peer = f"{n}/bm25_index", f"{n}/bm25s"
        if f"{peer}/p50_ms" not in results:
            continue
        lines.append(
            f"{n:,}: BM25 vs bm25s, same tokens: build {results[f'{ours}/build_s']:.1f} vs "
            f"{results[f'{peer}/build_s']:.1f} s; p50/p95 {results[f'{ours}/p50_ms']:.2f}/"
            f"{results[f'{ours}/p95_ms']:.2f} vs {results[f'{peer}/p50_ms']:.2f}/"
            f"{results[f'{peer}/p95_ms']:.2f} ms; QPS {results[f'{ours}/qps']:.0f} vs "
            f"{results[f'{peer}/qps']:.0f}; index {results[f'{ours}/index_mb']:.0f} vs "
            f"{results[f'{peer}/index_mb']:.0f} MB, build peak +"
            f"{results[f'{ours}/build_peak_mb']:.0f} vs +{results[f'{peer}/build_peak_mb']:.0f} MB;"
            f" same top 10 {results[f'{peer}/same_top10']:.3f} (the rest "
            f"{results[f'{peer}/ties_at_cutoff']:.0f} ties at the cut-off, "
            f"{results[f'{peer}/rounding_at_cutoff']:.0f} rounding, "
            f"{results[f'{peer}/scoring_differences']:.0f} scoring)"
        )
    return lines


def plot(results: dict[str, Any], sizes: Sequence[int], path: Path) -> None:
    """Latency (p50 and p95) against corpus size, plus load time and memory, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    colours = {"bm25": "tab:blue", "dense": "tab:orange", "hybrid": "tab:green"}
    for name, colour in colours.items():
        for stat, style in (("p50", "-o"), ("p95", "--s")):
            ys = [results.get(f"{n}/{name}/{stat}_ms") for n in sizes]
            if all(y is not None for y in ys):
                left.plot(sizes, ys, style, color=colour, label=f"{name} {stat}")
    ref = [(n, results.get(f"{n}/rank_bm25/p50_ms")) for n in sizes]
    ref = [(n, y) for n, y in ref if y is not None]
    if ref:
        xs, ys = zip(*ref, strict=True)
        left.plot(xs, ys, ":^", color="tab:red", label="rank-bm25 p50 (same tokens)")
    for key, style, colour, label in (
        ("bm25_index", ":o", "tab:blue", "our BM25 index p50 (vs bm25s, no chunk reads)"),
        ("bm25s", ":v", "tab:gray", "bm25s p50 (same tokens, no chunk reads)"),
    ):
        peer = [(n, results.get(f"{n}/{key}/p50_ms")) for n in sizes]
        peer = [(n, y) for n, y in peer if y is not None]
        if peer:
            xs, ys = zip(*peer, strict=True)
            left.plot(xs, ys, style, color=colour, mfc="none", label=label)
    left.axhline(50, color="grey", lw=0.8)
    left.axhline(150, color="grey", lw=0.8, ls="--")
    left.text(sizes[-1], 53, "target hybrid p50 50 ms", fontsize=8, color="grey", ha="right")
    left.text(sizes[-1], 159, "target hybrid p95 150 ms", fontsize=8, color="grey", ha="right")
    for n in sizes:
        kind = results.get(f"{n}/dense/kind")
        if kind:
            left.annotate(f"dense: {kind}", (n, results.get(f"{n}/dense/p50_ms") or 1),
                          textcoords="offset points", xytext=(0, -14), ha="center",
                          fontsize=7, color="tab:orange")
    left.set(xscale="log", yscale="log", xlabel="corpus size (chunks)",
             ylabel="single-query latency (ms, excl. query embedding)",
             title="Query latency")
    left.grid(True, which="both", alpha=0.3)
    bottom, top = left.get_ylim()
    left.set_ylim(bottom, max(top, 200) * 8)  # headroom for the legend above the data
    left.legend(fontsize=8, ncol=2, loc="upper left")
    loads = [results.get(f"{n}/load_s") for n in sizes]
    rss = [results.get(f"{n}/rss_mb") for n in sizes]
    rss_queried = [results.get(f"{n}/rss_after_queries_mb") for n in sizes]
    builds = [results.get(f"{n}/build_s") for n in sizes]
    series = [
        ("RSS after load (GB)", rss, 1 / 1024, "-o", "tab:purple"),
        ("RSS after queries, mapped pages incl. (GB)", rss_queried, 1 / 1024, "--o",
         "tab:purple"),
        ("cold load (s)", loads, 1.0, "-s", "tab:brown"),
        ("build excl. embedding (min)", builds, 1 / 60, "-^", "tab:cyan"),
    ]
    for label, values, scale, style, colour in series:
        numbers = [float(v) for v in values if isinstance(v, (int, float))]
        if len(numbers) == len(values):
            right.plot(sizes, [v * scale for v in numbers], style, color=colour, label=label)
    right.axhline(4, color="tab:purple", lw=0.8, ls="--")
    right.axhline(3, color="tab:brown", lw=0.8, ls=":")
    right.text(sizes[0], 4.3, "RSS target 4 GB", fontsize=8, color="tab:purple")
    right.text(sizes[0], 2.5, "load target 3 s", fontsize=8, color="tab:brown", va="top")
    right.set(xscale="log", yscale="log", xlabel="corpus size (chunks)",
              title="Load, memory and build (log scale)")
    right.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=8)
    fig.suptitle(f"qa on {results.get('meta/cpus')} cores — " + str(
        VECTOR_WORDS.get(str(results.get("meta/vectors")), "")) + " as chunk vectors",
        fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_json(results: dict[str, Any], path: Path) -> None:
    """The flat figures, sorted by key, UTF-8."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(dict(sorted(results.items())), fh, ensure_ascii=False, indent=1)
        fh.write("\n")
