"""Bonus rules: templates, programs, partners, events and the evaluator.

Pure domain code (no Flask): ``partnerflow simulate``, the browser's simulation and the
background workers all evaluate through :class:`server.rules.evaluator.Evaluator`, so
that the same input gives the same accruals everywhere. The contract is
``spec/rules.md``; the choices made where it is silent are in ``docs/rules.md``.
"""
