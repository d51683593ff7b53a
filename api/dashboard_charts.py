"""The dashboard's charts, drawn on the server by pygal as SVG `data:` images.

No JavaScript reaches the browser (pygal's tooltip script is switched off, and an SVG
shown as an image runs nothing); every chart has its numbers in a table beside it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pygal
from pygal.style import Style

from api.dashboard import Formatter
from broadcasts.dashboard import AreaRate, NoticeView

_STYLE = Style(
    background="transparent",
    plot_background="#ffffff",
    font_family="system-ui, sans-serif",
    colors=("#1f6feb", "#2da44e", "#cf222e", "#8250df"),
    # The charts are drawn 640 wide and shown at a phone's width too: large type.
    label_font_size=20,
    major_label_font_size=20,
    value_font_size=22,
    title_font_size=22,
)


def _common(**extra: object) -> dict[str, object]:
    return {
        "js": [],  # no tooltip script from a CDN
        "style": _STYLE,
        "show_legend": False,
        "width": 640,
        "height": 320,
        "margin": 12,
        **extra,
    }


def funnel_chart(view: NoticeView, fmt: Formatter) -> str:
    """Targeted → sent → failed → acknowledged, as bars."""
    f = view.funnel
    chart = pygal.Bar(**_common(print_values=True, show_y_labels=False))
    chart.x_labels = [
        fmt.t.gettext("Targeted"),
        fmt.t.gettext("Sent"),
        fmt.t.gettext("Not delivered"),
        fmt.t.gettext("Acknowledged"),
    ]
    chart.add("", [f.targeted, f.sent, f.failed, f.acknowledged])
    return str(chart.render_data_uri())


def ack_time_chart(view: NoticeView, fmt: Formatter) -> str:
    """Groups that pressed «Đã nhận», counted up over time (the ward's local time)."""
    points: list[tuple[datetime, int]] = []
    if view.sent_from is not None:
        points.append((fmt.local(view.sent_from), 0))
    for count, at in enumerate(view.ack_times, start=1):
        points.append((fmt.local(at), count))
    span = (points[-1][0] - points[0][0]).total_seconds() if points else 0
    # Minutes apart on the axis, or seconds when everything came within a few minutes.
    shown = "%H:%M" if span > 600 else "%H:%M:%S"
    chart = pygal.DateTimeLine(
        **_common(
            x_value_formatter=lambda d: d.strftime(shown),
            x_label_rotation=30 if span <= 600 else 0,
            range=(0, max(1, view.acks.total)),
            y_title=fmt.t.gettext("Groups"),
            fill=True,
            dots_size=3,
        )
    )
    chart.add("", points)
    return str(chart.render_data_uri())


def area_rate_chart(areas: Sequence[AreaRate], fmt: Formatter) -> str:
    """The share of sent notices acknowledged, per khu phố (percent)."""
    chart = pygal.HorizontalBar(
        **_common(
            print_values=True,
            range=(0, 100),
            y_labels=[0, 25, 50, 75, 100],
            value_formatter=lambda v: f"{v:.0f}%",
            truncate_label=-1,
            height=max(200, 72 * len(areas) + 90),
        )
    )
    # pygal draws the first label at the bottom: reversed, the tree reads top down.
    shown = list(reversed(areas))
    chart.x_labels = [a.area_name for a in shown]
    chart.add("", [round(100 * a.rate) for a in shown])
    return str(chart.render_data_uri())
