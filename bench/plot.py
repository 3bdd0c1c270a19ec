#!/usr/bin/env python3
"""Charts from a corsair-bench --json report, as SVG, with the Python standard library only.

    python3 bench/plot.py REPORT.json OUTDIR

writes OUTDIR/throughput.svg (the throughput workload's rows as bars, over ZeroMQ and over the
direct transport, beside the ceiling and the peers of --peers), OUTDIR/scaling.svg (throughput
against worker connections, Corsair and the ceiling) and OUTDIR/latency.svg (the distribution of sequential round trips, Corsair (and its low-latency mode) and the ceiling, and the
peers of --peers when the report has them, as a CDF on a logarithmic time axis). A chart whose
workload is missing from the report is skipped.
"""
import json
import math
import os
import sys
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 80, 170, 40, 60
COLOURS = {"Corsair": "#c0392b", "ceiling": "#2c3e50", "redis": "#27ae60", "beanstalkd": "#8e44ad",
           "direct": "#e67e22"}
# The throughput chart's bars: (report key, label, colour name), in the order drawn.
THROUGHPUT_ROWS = [
    ("throughput", "Corsair, pipelined", "Corsair"),
    ("throughput_direct", "Corsair, pipelined, direct", "direct"),
    ("throughput_cli", "Corsair, CLI", "Corsair"),
    ("throughput_cli_direct", "Corsair, CLI, direct", "direct"),
    ("throughput_capacity_1", "Corsair, --capacity 1", "Corsair"),
    ("throughput_capacity_1_direct", "Corsair, --capacity 1, direct", "direct"),
    ("throughput_capacity_1_threads", "Corsair, --capacity 1 --threads 1", "Corsair"),
]


def svg(title, body):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'font-family="sans-serif" font-size="12">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n'
            f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>\n'
            + "\n".join(body) + "\n</svg>\n")


def chart(title, x_label, y_label, series, x_ticks, y_max, x_of, y_ticks):
    """series: {name: [(x, y), ...]}; x_of maps a data x to 0..1 across the plot."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    px = lambda x: LEFT + x_of(x) * plot_w
    py = lambda y: TOP + plot_h - (y / y_max) * plot_h
    body = [f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="black"/>',
            f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="black"/>']
    for x, label in x_ticks:
        body.append(f'<line x1="{px(x):.1f}" y1="{TOP}" x2="{px(x):.1f}" y2="{TOP + plot_h}" stroke="#eee"/>')
        body.append(f'<text x="{px(x):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{escape(label)}</text>')
    for y, label in y_ticks:
        body.append(f'<line x1="{LEFT}" y1="{py(y):.1f}" x2="{LEFT + plot_w}" y2="{py(y):.1f}" stroke="#eee"/>')
        body.append(f'<text x="{LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{escape(label)}</text>')
    body.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 15}" text-anchor="middle">{escape(x_label)}</text>')
    body.append(f'<text transform="translate(18 {TOP + plot_h / 2}) rotate(-90)" text-anchor="middle">'
                f'{escape(y_label)}</text>')
    for i, (name, points) in enumerate(series.items()):
        colour = COLOURS.get(name, "#888")
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        if len(points) <= 12:
            body += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>' for x, y in points]
        ly = TOP + 10 + 20 * i
        body.append(f'<line x1="{WIDTH - RIGHT + 15}" y1="{ly}" x2="{WIDTH - RIGHT + 40}" y2="{ly}" '
                    f'stroke="{colour}" stroke-width="2"/>')
        body.append(f'<text x="{WIDTH - RIGHT + 46}" y="{ly + 4}">{escape(name)}</text>')
    return svg(title, body)


def nice_ticks(maximum, count=5):
    step = 10 ** math.floor(math.log10(maximum / count)) if maximum > 0 else 1
    for factor in (1, 2, 2.5, 5, 10):
        if maximum / (step * factor) <= count:
            step *= factor
            break
    return [i * step for i in range(int(maximum / step) + 2)]


def throughput_chart(report):
    """Horizontal bars, one per measured row, each labelled with its median jobs/s."""
    workloads = report["workloads"]
    bars = []
    for point in workloads.get("ceiling", {}).get("throughput", []):
        if point["workers"] == workloads.get("throughput", {}).get("workers"):
            bars.append((f"ceiling (ZeroMQ proxy), {point['workers']} workers", point["median_jobs_per_second"],
                         "ceiling"))
    for key, label, colour in THROUGHPUT_ROWS:
        if "median_jobs_per_second" in workloads.get(key, {}):
            bars.append((label, workloads[key]["median_jobs_per_second"], colour))
    for name, figures in workloads.get("peers", {}).items():
        is_peer = isinstance(figures, dict) and figures.get("installed") is True  # not "best", not "description"
        throughput = figures.get("throughput") if is_peer else None
        if throughput:
            bars.append((f"{name}, one job per worker", throughput["median_jobs_per_second"], name))
    if not bars:
        return None
    label_w, top, row_h = 230, TOP + 10, 28
    plot_w = WIDTH - label_w - 90
    ticks = nice_ticks(max(value for _, value, _ in bars))
    scale = plot_w / ticks[-1]
    body = []
    bottom = top + row_h * len(bars)
    for tick in ticks:
        x = label_w + tick * scale
        body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" stroke="#eee"/>')
        body.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{tick:,.0f}</text>')
    for i, (label, value, colour) in enumerate(bars):
        y = top + i * row_h
        body.append(f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{escape(label)}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 4}" width="{value * scale:.1f}" height="{row_h - 8}" '
                    f'fill="{COLOURS.get(colour, "#888")}"/>')
        body.append(f'<text x="{label_w + value * scale + 6:.1f}" y="{y + 17}">{value:,.0f}</text>')
    body.append(f'<text x="{label_w + plot_w / 2}" y="{bottom + 36}" text-anchor="middle">'
                f'jobs/s (medians; {workloads.get("throughput", {}).get("workers", "?")} workers)</text>')
    return svg("Throughput by shape and transport, with the peers", body)


def scaling_chart(report):
    workloads = report["workloads"]
    points = workloads.get("scaling", {}).get("points")
    if not points:
        return None
    series = {"Corsair": [(p["workers"], p["median_jobs_per_second"]) for p in points]}
    ceiling = [(p["workers"], p["ceiling_jobs_per_second"]) for p in points if p.get("ceiling_jobs_per_second")]
    if ceiling:
        series["ceiling"] = ceiling
    counts = [p["workers"] for p in points]
    low, high = math.log2(min(counts)), math.log2(max(counts))
    x_of = (lambda x: (math.log2(x) - low) / (high - low)) if high > low else (lambda x: 0.5)
    ticks = nice_ticks(max(y for s in series.values() for _, y in s))
    return chart("Throughput against worker connections (medians)", "worker processes (log scale)", "jobs/s",
                 series, [(c, str(c)) for c in counts], ticks[-1], x_of, [(t, f"{t:,.0f}") for t in ticks])


def latency_chart(report):
    workloads = report["workloads"]
    series = {}
    if "latency" in workloads:
        series["Corsair"] = [(d["us"], d["p"]) for d in workloads["latency"]["distribution"]]
    if "distribution" in workloads.get("latency_direct", {}):
        series["low-latency mode"] = [(d["us"], d["p"]) for d in workloads["latency_direct"]["distribution"]]
    if "latency" in workloads.get("ceiling", {}):
        series["ceiling"] = [(d["us"], d["p"]) for d in workloads["ceiling"]["latency"]["distribution"]]
    for name, figures in workloads.get("peers", {}).items():
        distribution = figures.get("latency", {}).get("distribution") if isinstance(figures, dict) else None
        if distribution:
            series[name] = [(d["us"], d["p"]) for d in distribution]
    if not series:
        return None
    xs = [x for s in series.values() for x, _ in s if x > 0]
    low, high = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    high = max(high, low + 1)
    x_of = lambda x: (math.log10(max(x, 10 ** low)) - low) / (high - low)
    x_ticks = [(10 ** e, f"{10 ** e:,}") for e in range(low, high + 1)]
    return chart("Sequential round trip, SUBMIT to RESULT (CDF)", "microseconds (log scale)", "percentile",
                 series, x_ticks, 100, x_of, [(p, str(p)) for p in (0, 25, 50, 75, 90, 99)])


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as file:
        report = json.load(file)
    os.makedirs(sys.argv[2], exist_ok=True)
    for name, build in (("throughput.svg", throughput_chart), ("scaling.svg", scaling_chart),
                        ("latency.svg", latency_chart)):
        text = build(report)
        if text is None:
            print(f"skipped {name}: its workload is not in the report")
            continue
        path = os.path.join(sys.argv[2], name)
        with open(path, "w") as file:
            file.write(text)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
