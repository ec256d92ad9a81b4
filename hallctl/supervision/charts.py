"""The report's charts (matplotlib, Agg, Noto Sans CJK from Debian's fonts-noto-cjk).

Each function draws one chart from ``Report.charts`` onto a new Figure; the HTML report embeds
them as SVG (text as paths, so the page needs no font), the PDF report places them on pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure, SubFigure

    from hallctl.supervision.report import Report

CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "WenQuanYi Zen Hei"]
BLUE, ORANGE, GREEN, RED, GREY = "#1f4e79", "#e07b39", "#3a8f5c", "#c0392b", "#7f8c8d"


class FontMissing(RuntimeError):
    pass


def setup() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    fonts = [f for f in CJK_FONTS if f in have]
    if not fonts:
        raise FontMissing("no CJK font for the charts: install Debian's fonts-noto-cjk")
    matplotlib.rcParams.update(
        {
            "font.family": fonts,
            "axes.unicode_minus": False,
            "pdf.fonttype": 3,  # Type 3: Noto CJK is CFF-flavoured; Type 42 mislabels it
            "svg.fonttype": "path",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "font.size": 9,
        }
    )


def _figure(w: float, h: float, into: Figure | SubFigure | None) -> Figure | SubFigure:
    """A chart on its own figure, or drawn into a part of a PDF page."""
    if into is not None:
        return into
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), layout="constrained")


def hourly(r: Report, into: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Arrivals and served per hour against open windows."""
    fig = _figure(9, 3.4, into)
    ax = fig.add_subplot()
    rows = r.charts["hours"]
    labels = [h[0][:2] for h in rows]
    x = list(range(len(rows)))
    ax.bar([i - 0.2 for i in x], [h[1] for h in rows], 0.4, label="取号", color=BLUE)
    ax.bar([i + 0.2 for i in x], [h[2] for h in rows], 0.4, label="办结", color=GREEN)
    ax.set_xticks(x, labels)
    ax.set_xlabel("时段（时）")
    ax.set_ylabel("人次")
    ax2 = ax.twinx()
    ax2.plot(x, [h[3] for h in rows], color=ORANGE, marker="o", label="开放窗口（平均）")
    ax2.set_ylabel("开放窗口")
    ax2.set_ylim(bottom=0)
    ax2.spines["right"].set_visible(True)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper right", frameon=False)
    ax.set_title("各时段取号、办结与开放窗口")
    return fig


def waits(r: Report, into: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Wait distribution per service (P10–P90 box, median) against its target."""
    rows = r.charts["waits"]
    fig = _figure(9, max(2.2, 0.45 * len(rows) + 1.2), into)
    ax = fig.add_subplot()
    stats = [
        {"label": w["service"], "whislo": w["p10"], "q1": w["p25"], "med": w["median"],
         "q3": w["p75"], "whishi": w["p90"], "fliers": []}
        for w in rows
    ]  # fmt: skip
    if stats:
        ax.bxp(stats, orientation="horizontal", showfliers=False, patch_artist=True,
               boxprops={"facecolor": "#d6e4f0", "edgecolor": BLUE},
               medianprops={"color": BLUE, "linewidth": 2})  # fmt: skip
        for i, w in enumerate(rows, start=1):
            ax.plot([w["target"]] * 2, [i - 0.35, i + 0.35], color=RED, linewidth=2)
        ax.plot([], [], color=RED, linewidth=2, label="等候目标")
        ax.legend(loc="upper right", frameon=False)
    if len(rows) > 12:
        ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel("等候时长（分钟）：箱体 P25–P75，须 P10–P90，粗线中位数")
    ax.set_title("各业务等候时长分布与目标")
    return fig


def windows(r: Report, into: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Per window: served, mean service time, satisfaction (three rows of bars)."""
    rows = r.charts["windows"]
    fig = _figure(9, 6, into)
    axes = fig.subplots(3, 1, sharex=True)
    labels = [str(w[0]).removesuffix("号窗口") for w in rows]
    x = list(range(len(rows)))
    axes[0].bar(x, [w[1] for w in rows], color=BLUE)
    axes[0].set_title("各窗口办结数")
    axes[1].bar(x, [w[2] or 0 for w in rows], color=ORANGE)
    axes[1].set_title("平均办理时长（分钟）")
    axes[2].bar(x, [(w[3] or 0) * 100 for w in rows], color=GREEN)
    axes[2].set_title("满意率（%）")
    axes[2].set_ylim(0, 100)
    step = max(1, len(rows) // 25)  # at most ~25 labels
    axes[2].set_xticks(x[::step], labels[::step])
    axes[2].set_xlabel("窗口")
    return fig


def trend(r: Report, into: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Satisfaction and served per day over the period."""
    rows = r.charts["trend"]
    fig = _figure(9, 3.2, into)
    ax = fig.add_subplot()
    days = [d[0][5:] for d in rows]
    ax.bar(days, [d[2] for d in rows], color="#d6e4f0", label="办结数")
    ax.set_ylabel("办结数")
    ax2 = ax.twinx()
    ax2.plot(days, [float("nan") if d[1] is None else d[1] * 100 for d in rows], color=GREEN,
             marker="o", label="满意率")  # fmt: skip
    ax2.set_ylabel("满意率（%）")
    ax2.spines["right"].set_visible(True)
    ax.tick_params(axis="x", rotation=60)
    ax.set_title("满意率与办结数趋势")
    return fig


def alarms(r: Report, into: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Alarms: a timeline of the day or week (one tick per alarm, a row per kind); for a month,
    alarms per day stacked by kind."""
    from hallctl.supervision.cells import KIND_ZH

    if (r.last - r.first).days >= 7:  # longer than a week: alarm counts per day
        return _alarms_per_day(r, into)
    import matplotlib.dates as mdates

    rows = r.charts["alarms"]
    counts: dict[str, int] = {}
    for _raised, _cleared, kind in rows:
        counts[kind] = counts.get(kind, 0) + 1
    kinds = sorted(counts, key=lambda k: -counts[k])
    fig = _figure(9, max(1.8, 0.4 * len(kinds) + 1.2), into)
    ax = fig.add_subplot()
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for raised, _cleared, kind in rows:
        times[kind].append(mdates.date2num(datetime.fromisoformat(raised)))  # type: ignore[no-untyped-call]
    for i, kind in enumerate(kinds):  # one marker line per kind: fast with thousands of alarms
        ax.plot(times[kind], [i] * len(times[kind]), linestyle="none", marker="|",
                markersize=14, color=RED, alpha=0.6)  # fmt: skip
        ax.annotate(f"{counts[kind]} 条", (1.005, i), xycoords=("axes fraction", "data"),
                    va="center", fontsize=9)  # fmt: skip
    ax.set_yticks(range(len(kinds)), [KIND_ZH.get(k, k) for k in kinds])
    ax.set_ylim(-0.8, max(0.8, len(kinds) - 0.2))
    ax.xaxis_date()
    fmt = mdates.DateFormatter("%H:%M" if r.period == "day" else "%m-%d")  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(fmt)
    ax.set_title(f"告警时间轴：每条竖线为一次告警（共 {len(rows)} 条）")
    if not rows:
        ax.text(0.5, 0.5, "无告警", transform=ax.transAxes, ha="center", color=GREY)
    return fig


def _alarms_per_day(r: Report, into: Figure | SubFigure | None) -> Figure | SubFigure:
    from hallctl.supervision.cells import KIND_ZH

    per_day = r.charts["alarm_days"]
    totals: dict[str, int] = {}
    for _day, counts in per_day:
        for k, n in counts.items():
            totals[k] = totals.get(k, 0) + n
    kinds = sorted(totals, key=lambda k: -totals[k])
    fig = _figure(9, 3.4, into)
    ax = fig.add_subplot()
    days = [d[5:] for d, _ in per_day]
    bottom = [0] * len(per_day)
    palette = [RED, ORANGE, BLUE, GREEN, GREY, "#8e44ad", "#16a085", "#d35400"]
    for i, kind in enumerate(kinds):
        values = [counts.get(kind, 0) for _, counts in per_day]
        ax.bar(days, values, bottom=bottom, color=palette[i % len(palette)],
               label=f"{KIND_ZH.get(kind, kind)}（{totals[kind]}）")  # fmt: skip
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.tick_params(axis="x", rotation=60)
    ax.set_ylabel("告警数")
    if kinds:
        ax.legend(frameon=False, fontsize=8, ncols=2)
    ax.set_title(f"每日告警（共 {sum(totals.values())} 条）")
    return fig


def all_charts(r: Report) -> list[tuple[str, Any]]:
    setup()
    charts = [("hourly", hourly(r)), ("waits", waits(r)), ("windows", windows(r))]
    if r.charts["trend"]:
        charts.append(("trend", trend(r)))
    charts.append(("alarms", alarms(r)))
    return charts
