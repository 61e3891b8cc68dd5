"""Managers' dashboards: KPIs aggregated in SQL and drawn as server-side SVG."""
