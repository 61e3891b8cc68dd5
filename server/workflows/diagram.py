"""The diagram of a workflow as SVG, drawn on the server from the spec (no JavaScript,
no network). States are laid out in layers by their distance from the initial state;
forward transitions are straight arrows, the others arcs. Text is escaped by
:mod:`xml.etree.ElementTree`, so titles from a definition cannot inject markup."""

from __future__ import annotations

from collections import deque
from xml.etree import ElementTree as ET

from server.workflows.spec import WorkflowSpec

BOX_WIDTH = 170
BOX_HEIGHT = 44
LAYER_GAP = 130
ROW_GAP = 34
MARGIN = 30
#: characters of a state title / transition label shown before "…"
TITLE_CHARS = 22
LABEL_CHARS = 22
SVG_NS = "http://www.w3.org/2000/svg"
#: a state's time limit, as the boards write it
SLA_PHRASE = {"ru": "SLA {days} дн.", "en": "SLA {days} d"}


def _layers(spec: WorkflowSpec) -> dict[str, int]:
    depth = {spec.initial: 0} if spec.initial in spec.states else {}
    queue = deque(depth)
    while queue:
        state = queue.popleft()
        for transition in spec.transitions_from(state):
            if transition.dest in spec.states and transition.dest not in depth:
                depth[transition.dest] = depth[state] + 1
                queue.append(transition.dest)
    last = max(depth.values(), default=-1) + 1
    return {name: depth.get(name, last) for name in spec.states}


def render_svg(spec: WorkflowSpec, language: str, current: str | None = None) -> str:
    """The workflow as an ``<svg>`` element (text), ``current`` state highlighted."""
    depth = _layers(spec)
    rows: dict[int, int] = {}
    position: dict[str, tuple[int, int]] = {}
    for name in spec.states:
        layer = depth[name]
        row = rows.get(layer, 0)
        rows[layer] = row + 1
        position[name] = (
            MARGIN + layer * (BOX_WIDTH + LAYER_GAP),
            MARGIN + row * (BOX_HEIGHT + ROW_GAP) + 40,
        )
    width = MARGIN * 2 + (max(depth.values(), default=0) + 1) * (BOX_WIDTH + LAYER_GAP)
    height = MARGIN * 2 + max(rows.values(), default=1) * (BOX_HEIGHT + ROW_GAP) + 110
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "width": str(width),
            "height": str(height),
            "viewBox": f"0 0 {width} {height}",
            "class": "pf-diagram",
            "role": "img",
            "font-family": "DejaVu Sans, Arial, sans-serif",
            "font-size": "12",
        },
    )
    ET.SubElement(svg, "title").text = spec.title.get(language)
    defs = ET.SubElement(svg, "defs")
    marker = ET.SubElement(
        defs,
        "marker",
        {
            "id": "pf-arrow",
            "viewBox": "0 0 10 10",
            "refX": "10",
            "refY": "5",
            "markerWidth": "7",
            "markerHeight": "7",
            "orient": "auto-start-reverse",
        },
    )
    ET.SubElement(marker, "path", {"d": "M 0 0 L 10 5 L 0 10 z", "fill": "#555"})

    edges = ET.SubElement(svg, "g", {"class": "pf-edges"})
    for index, transition in enumerate(spec.transitions):
        if transition.dest not in position:
            continue
        for source in transition.sources:
            if source not in position:
                continue
            _edge(
                edges,
                position[source],
                position[transition.dest],
                forward=depth[transition.dest] > depth[source],
                below=depth[transition.dest] == depth[source]
                and position[transition.dest][1] > position[source][1],
                bend=index,
                label=transition.title.get(language),
                trigger=transition.trigger,
            )

    nodes = ET.SubElement(svg, "g", {"class": "pf-states"})
    for name, state in spec.states.items():
        x, y = position[name]
        group = ET.SubElement(nodes, "g", {"class": "pf-state", "data-state": name})
        fill = "#fcf8e3" if name == current else ("#eef5ee" if state.final else "#f5f8fc")
        stroke_width = "3" if name == spec.initial or name == current else "1.5"
        ET.SubElement(
            group,
            "rect",
            {
                "x": str(x),
                "y": str(y),
                "width": str(BOX_WIDTH),
                "height": str(BOX_HEIGHT),
                "rx": "8",
                "fill": fill,
                "stroke": "#337ab7",
                "stroke-width": stroke_width,
            },
        )
        if state.final:
            ET.SubElement(
                group,
                "rect",
                {
                    "x": str(x + 3),
                    "y": str(y + 3),
                    "width": str(BOX_WIDTH - 6),
                    "height": str(BOX_HEIGHT - 6),
                    "rx": "6",
                    "fill": "none",
                    "stroke": "#337ab7",
                },
            )
        text = ET.SubElement(
            group,
            "text",
            {
                "x": str(x + BOX_WIDTH // 2),
                "y": str(y + 19),
                "text-anchor": "middle",
                "font-weight": "bold",
            },
        )
        text.text = _fit(state.title.get(language), TITLE_CHARS)
        detail = ET.SubElement(
            group,
            "text",
            {
                "x": str(x + BOX_WIDTH // 2),
                "y": str(y + 35),
                "text-anchor": "middle",
                "fill": "#666",
                "font-size": "10",
            },
        )
        sla = (
            " · " + SLA_PHRASE.get(language, SLA_PHRASE["en"]).format(days=state.sla_days)
            if state.sla_days is not None
            else ""
        )
        actions = f" · ⚙{len(state.actions)}" if state.actions else ""
        detail.text = f"{name}{sla}{actions}"
    return ET.tostring(svg, encoding="unicode")


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _edge(
    parent: ET.Element,
    start: tuple[int, int],
    end: tuple[int, int],
    *,
    forward: bool,
    below: bool,
    bend: int,
    label: str,
    trigger: str,
) -> None:
    group = ET.SubElement(parent, "g", {"class": "pf-transition", "data-trigger": trigger})
    anchor = "middle"
    if below:  # to a state under this one in the same layer
        x1, y1 = start[0] + BOX_WIDTH // 3, start[1] + BOX_HEIGHT
        x2, y2 = end[0] + BOX_WIDTH // 3, end[1]
        path = f"M {x1} {y1} L {x2} {y2}"
        lx, ly, anchor = x1 - 4, (y1 + y2) // 2 + 4, "end"
    elif forward:
        x1, y1 = start[0] + BOX_WIDTH, start[1] + BOX_HEIGHT // 2
        x2, y2 = end[0], end[1] + BOX_HEIGHT // 2
        path = f"M {x1} {y1} L {x2} {y2}"
        lx, ly = (x1 + x2) // 2, (y1 + y2) // 2 - 4
    else:  # backwards: an arc under the boxes
        x1, y1 = start[0] + BOX_WIDTH // 2, start[1] + BOX_HEIGHT
        x2, y2 = end[0] + BOX_WIDTH // 2, end[1] + BOX_HEIGHT
        drop = 40 + (bend % 4) * 14
        cx, cy = (x1 + x2) // 2, max(y1, y2) + drop
        path = f"M {x1} {y1} Q {cx} {cy} {x2} {y2}"
        lx, ly = cx, (max(y1, y2) + cy) // 2 + 4
    ET.SubElement(
        group,
        "path",
        {
            "d": path,
            "fill": "none",
            "stroke": "#555",
            "stroke-width": "1.2",
            "marker-end": "url(#pf-arrow)",
        },
    )
    text = ET.SubElement(
        group,
        "text",
        {"x": str(lx), "y": str(ly), "text-anchor": anchor, "font-size": "10", "fill": "#333"},
    )
    text.text = _fit(label, LABEL_CHARS)
