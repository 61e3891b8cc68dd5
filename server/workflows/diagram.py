"""The diagram of a workflow as SVG, drawn on the server from the spec (no JavaScript,
no network). States are laid out top-down in layers by their distance from the initial
state, so a long workflow grows down the page rather than off its right edge; forward
transitions are straight arrows, transitions within a layer run sideways, the others
are arcs on the right. The SVG scales down to its box (``viewBox``). Boxes show the
states' titles, never their keys. Text is escaped by :mod:`xml.etree.ElementTree`, so
titles from a definition cannot inject markup."""

from __future__ import annotations

from collections import deque
from xml.etree import ElementTree as ET

from server.workflows.spec import WorkflowSpec

BOX_WIDTH = 190
BOX_HEIGHT = 44
#: vertical room between layers (a transition's label sits beside its arrow there)
LAYER_GAP = 66
#: horizontal room between states of one layer
COLUMN_GAP = 90
MARGIN = 30
#: room on the right for the arcs of backward transitions and their labels
ARC_ROOM = 190
#: characters of a state title / transition label shown before "…"
TITLE_CHARS = 25
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
    columns: dict[int, int] = {}
    position: dict[str, tuple[int, int]] = {}
    for name in spec.states:
        layer = depth[name]
        column = columns.get(layer, 0)
        columns[layer] = column + 1
        position[name] = (
            MARGIN + column * (BOX_WIDTH + COLUMN_GAP),
            MARGIN + layer * (BOX_HEIGHT + LAYER_GAP),
        )
    widest = max(columns.values(), default=1)
    width = MARGIN * 2 + widest * (BOX_WIDTH + COLUMN_GAP) - COLUMN_GAP + ARC_ROOM
    height = MARGIN * 2 + (max(depth.values(), default=0) + 1) * (BOX_HEIGHT + LAYER_GAP)
    right_edge = MARGIN + widest * (BOX_WIDTH + COLUMN_GAP) - COLUMN_GAP
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
                sideways=depth[transition.dest] == depth[source],
                right_edge=right_edge,
                bend=index,
                label=transition.title.get(language),
                trigger=transition.trigger,
            )

    nodes = ET.SubElement(svg, "g", {"class": "pf-states"})
    for name, state in spec.states.items():
        x, y = position[name]
        classes = "pf-state pf-current" if name == current else "pf-state"
        group = ET.SubElement(nodes, "g", {"class": classes, "data-state": name})
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
        detail.text = f"{sla}{actions}".removeprefix(" · ")
    return ET.tostring(svg, encoding="unicode")


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _edge(
    parent: ET.Element,
    start: tuple[int, int],
    end: tuple[int, int],
    *,
    forward: bool,
    sideways: bool,
    right_edge: int,
    bend: int,
    label: str,
    trigger: str,
) -> None:
    group = ET.SubElement(parent, "g", {"class": "pf-transition", "data-trigger": trigger})
    anchor = "start"
    if sideways:  # to a state beside this one in the same layer
        leftwards = end[0] < start[0]
        x1 = start[0] if leftwards else start[0] + BOX_WIDTH
        x2 = end[0] + BOX_WIDTH if leftwards else end[0]
        y1 = y2 = start[1] + BOX_HEIGHT // 2
        path = f"M {x1} {y1} L {x2} {y2}"
        lx, ly, anchor = (x1 + x2) // 2, y1 - 6, "middle"
    elif forward:
        x1, y1 = start[0] + BOX_WIDTH // 2, start[1] + BOX_HEIGHT
        x2, y2 = end[0] + BOX_WIDTH // 2, end[1]
        path = f"M {x1} {y1} L {x2} {y2}"
        # a straight arrow is labelled near its start, a slanted one near its end, so
        # two arrows leaving one state do not write over each other
        share = 0.3 if x1 == x2 else 0.72
        lx = int(x1 + (x2 - x1) * share) + (6 if x2 >= x1 else -6)
        ly = int(y1 + (y2 - y1) * share) + 4
        anchor = "start" if x2 >= x1 else "end"
    else:  # backwards: an arc out to the right of every box
        x1, y1 = start[0] + BOX_WIDTH, start[1] + BOX_HEIGHT // 2
        x2, y2 = end[0] + BOX_WIDTH, end[1] + BOX_HEIGHT // 2
        reach = right_edge + 30 + (bend % 4) * 18
        cy = (y1 + y2) // 2
        path = f"M {x1} {y1} Q {reach} {cy} {x2} {y2}"
        lx, ly = (max(x1, x2) + reach) // 2 + 4, cy + 4
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
