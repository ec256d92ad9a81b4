"""The staffing plan as a chart (``hallctl plan --chart plan.png``).

Two panels on one time axis: the windows to open per service per half hour (stacked, after the
simulator's corrections; Erlang C's first answer as a line; the hall's window count as a limit),
and the share of citizens the simulation saw wait at most their service's target, against the
target share. matplotlib (the reports' charting library, imported only here and only when a
chart is asked for) with Debian's Noto Sans CJK for the service names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hallctl.config.models import HallConfig

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from hallctl.sim.plan import Plan

FORMATS = (".png", ".svg")
SIZE_IN = (11.0, 7.0)
DPI = 150
# one colour per service (colour-blind-safe, Okabe–Ito), repeated past eight services
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


MARKERS = "osD^vP*X"  # lines that meet at 100 % stay told apart


class ChartError(ValueError):
    pass


def check_path(path: Path) -> None:
    """Before any work: a format the chart can be written in, into a folder that exists."""
    if path.suffix.lower() not in FORMATS:
        raise ChartError(f"--chart: {path.name}: the chart is written as .png or .svg")
    if not path.parent.is_dir():
        raise ChartError(f"--chart: {path.parent}: no such folder")


def draw(p: Plan, config: HallConfig, share: float) -> Figure:
    try:
        from hallctl.supervision.charts import setup
    except ImportError as e:  # pragma: no cover - the reports extra is not installed
        raise ChartError("--chart needs matplotlib: pip install 'hallctl[reports]'") from e
    setup()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    fig = Figure(figsize=SIZE_IN, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    codes = list(p.final)
    names = {
        c: f"{config.service(c).name}（≤{config.service(c).target_wait_min:g} 分钟）" for c in codes
    }
    x = list(range(len(p.slots)))
    base = [0] * len(x)
    bars: list[Any] = []
    for i, code in enumerate(codes):
        counts = p.final[code]
        bars.append(
            top.bar(x, counts, 0.8, bottom=base, color=PALETTE[i % len(PALETTE)], label=names[code])
        )
        base = [b + n for b, n in zip(base, counts, strict=True)]
    erlang = [sum(p.erlang[c][k] for c in codes) for k in x]
    [erlang_line] = top.step(x, erlang, where="mid", color="#444444", linewidth=1.5, linestyle="--",
             label="Erlang C 初算合计")  # fmt: skip
    have = len(config.windows)
    limit = top.axhline(have, color="#c0392b", linewidth=1.5, label=f"大厅全部窗口（{have} 个）")
    top.set_ylim(0, max([have, *base, *erlang]) * 1.15 + 0.5)
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    top.set_ylabel("开放窗口数")
    top.set_title(f"各时段各业务应开窗口数（模拟校核 {p.rounds} 轮后）")
    # the services top-down as they are stacked, then the two lines
    handles = [*reversed(bars), erlang_line, limit]
    top.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)

    for i, code in enumerate(codes):
        met = [float("nan") if m is None else m for m in p.met.get(code, [])]
        if met:
            bottom.plot(x, met, marker=MARKERS[i % len(MARKERS)], markersize=5,
                        color=PALETTE[i % len(PALETTE)], label=config.service(code).name,
                        alpha=0.9)  # fmt: skip
    bottom.axhline(share, color="#c0392b", linewidth=1.2, linestyle="--",
                   label=f"目标 {share:.0%}")  # fmt: skip
    bottom.set_ylim(0, 1.05)
    bottom.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    bottom.set_ylabel("等候不超过目标的比例")
    bottom.set_title("模拟中等候不超过目标时长的市民比例")
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    step = 1 if len(x) <= 20 else 2  # one label a half hour, or a hour on long days
    bottom.set_xticks(x[::step], [t.strftime("%H:%M") for t in p.slots][::step], rotation=45)
    bottom.set_xlabel("时段（每半小时）")
    return fig


def write(p: Plan, config: HallConfig, share: float, path: Path) -> None:
    check_path(path)
    draw(p, config, share).savefig(path, dpi=DPI)
