"""The Jinja2 sandbox that user-edited contract templates compile and render in.

Templates are untrusted: Legal edits them in the browser. They render in an
``ImmutableSandboxedEnvironment`` with autoescaping, plain data (dicts, lists, strings,
numbers) and a short list of filters. The sandbox blocks attribute tricks but bounds
neither CPU nor memory, so this module adds the bounds:

* every value a template builds (``*``, ``+``, ``~``, ``join``, ``replace``, a macro's
  or a ``{% set %}`` block's output) is at most :data:`MAX_VALUE_CHARS` long, and
  nothing that would print longer than that (a list nested in a list) is turned into
  text; ``%`` string formatting is refused;
* arithmetic is bounded on its operands' sizes *before* it runs: Python's big-integer
  ``*`` and ``**`` are single C calls that no deadline interrupts, so a result longer
  than :data:`MAX_INT_DIGITS` digits is refused from the operands' bit lengths, and
  ``round``, ``slice`` and ``batch`` refuse arguments that make C or filter loops huge;
* the output is streamed and stops at :data:`MAX_OUTPUT_CHARS`;
* the template's own code runs under a line tracer that stops it after
  :data:`RENDER_SECONDS` (a loop that outputs nothing is still stopped);
* :func:`render_source` runs all of this in a forked child with a hard CPU and memory
  limit and a wall-clock kill (:mod:`server.documents.isolation`): whatever escapes the
  bounds above stops there, and the web or rq worker that asked is never held.
"""

from __future__ import annotations

import functools
import math
import operator
import re
import sys
import time
from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    Sequence,
    ValuesView,
)
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

from flask_babel import lazy_gettext as _l
from jinja2 import StrictUndefined, TemplateSyntaxError, nodes, pass_environment
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.filters import FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace
from markupsafe import Markup, escape

from server.documents import formatting
from server.documents.isolation import ChildLimits, ChildStopped, run_in_child

#: longest template source accepted (characters)
MAX_SOURCE_CHARS = 200_000
#: longest string, list or tuple a template may build
MAX_VALUE_CHARS = 1_000_000
#: longest rendered HTML (characters); a contract is ~30 000
MAX_OUTPUT_CHARS = 2_000_000
#: wall-clock budget for running a template's code (PDF layout is bounded separately)
RENDER_SECONDS = 2.0
#: longest integer a template may build (decimal digits); a contract needs a dozen, and
#: Python refuses to print more than 4300
MAX_INT_DIGITS = 1000
#: largest ``|round`` precision (a negative one on an integer makes ``10 ** -n``)
MAX_ROUND_DIGITS = 100
#: most pieces ``|slice`` and ``|batch`` may make (Jinja's own cap on ``range``)
MAX_PIECES = 100_000
#: the forked child a render runs in: processor seconds (``RLIMIT_CPU``), the memory it
#: may add to what it inherits (``RLIMIT_AS``) and the wall-clock seconds before it is
#: killed; generous for a real contract (~0.1 s), tight for anything runaway
CHILD_LIMITS = ChildLimits(cpu_seconds=3, memory_bytes=768 * 2**20, wall_seconds=10.0)

_BITS_PER_DIGIT = math.log2(10)
MAX_INT_BITS = int(MAX_INT_DIGITS * _BITS_PER_DIGIT)

#: the file name Jinja gives code compiled from a string; the tracer watches it only
TEMPLATE_FILENAME = "<template>"

#: names a template may use besides its data (Jinja's ``lipsum``, ``cycler``,
#: ``joiner``, ``namespace`` and ``dict`` are not offered)
TEMPLATE_GLOBALS = ("range", "loop", "super", "caller", "varargs", "kwargs")

#: Jinja's built-in filters offered to templates; the rest can amplify output
#: (``center``, ``indent``, ``wordwrap``, ``format``), reach attributes (``attr``),
#: emit unescaped text (``safe``) or be non-deterministic (``random``)
SAFE_BUILTIN_FILTERS = (
    "abs",
    "batch",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "forceescape",
    "groupby",
    "int",
    "items",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "reverse",
    "round",
    "select",
    "selectattr",
    "slice",
    "sort",
    "string",
    "striptags",
    "sum",
    "title",
    "trim",
    "truncate",
    "unique",
    "upper",
    "wordcount",
)

#: ``str`` methods that could build huge strings or bypass the filters above
BLOCKED_STR_METHODS = frozenset(
    {
        "center",
        "encode",
        "expandtabs",
        "format",
        "format_map",
        "join",
        "ljust",
        "replace",
        "rjust",
        "translate",
        "zfill",
    }
)

#: ``int`` methods that build a value of a size the template chooses
BLOCKED_INT_METHODS = frozenset({"to_bytes", "from_bytes"})


@dataclass(frozen=True)
class TemplateIssue:
    """One problem in a template, with the 1-based line it is on (when known)."""

    line: int | None
    #: a ``str``, or a lazy translation that reads in the user's language when shown
    message: Any

    def __str__(self) -> str:
        if self.line:
            return str(_l("line %(line)s: %(message)s", line=self.line, message=self.message))
        return str(self.message)


class TemplateValidationError(TemplateError):
    """The template does not compile or uses unknown variables; see ``issues``."""

    def __init__(self, issues: Sequence[TemplateIssue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(str(issue) for issue in self.issues))

    def __reduce__(self) -> tuple[Any, ...]:  # crosses from the render's child process
        return (type(self), (self.issues,))


class TemplateRenderError(TemplateError):
    """Rendering failed or was refused (unsafe access, a limit); ``line`` if known."""

    def __init__(self, message: Any, line: int | None = None) -> None:
        self.line = line
        self.issue = TemplateIssue(line, message)
        super().__init__(str(self.issue))

    def __reduce__(self) -> tuple[Any, ...]:  # crosses from the render's child process
        return (type(self), (self.issue.message, self.line))


class RenderLimitExceeded(TemplateRenderError):
    """The template exceeded a size, time, processor or memory bound."""


def _too_long() -> RenderLimitExceeded:
    return RenderLimitExceeded(
        _l("a value longer than %(chars)s characters", chars=MAX_VALUE_CHARS)
    )


def _too_big_number() -> RenderLimitExceeded:
    return RenderLimitExceeded(_l("a number longer than %(digits)s digits", digits=MAX_INT_DIGITS))


def _text_weight(value: Any, budget: int = MAX_VALUE_CHARS) -> int:
    """Roughly how many characters ``str(value)`` makes, counted up to just past
    ``budget`` (so the count costs at most ~``budget`` steps, even for a list that
    holds the same big list a million times)."""
    total = 0
    stack = [value]
    while stack and total <= budget:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item) + 2
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            stack.extend(item)
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, KeysView | ValuesView | ItemsView):  # dict.items() prints all
            total += 16 + 4 * len(item)
            stack.extend(item)
        else:
            total += 24  # floats, dates, Undefined: short
    return total


def _check_printable(value: Any) -> Any:
    """``value`` if turning it into text stays within :data:`MAX_VALUE_CHARS`."""
    if isinstance(value, str | int | float) or value is None:
        return value  # bounded already (and Python prints at most 4300 digits)
    if _text_weight(value) > MAX_VALUE_CHARS:
        raise _too_long()
    return value


def _bounded_join(items: Iterable[Any], autoescape: bool) -> str:
    parts: list[str] = []
    total = 0
    for item in items:
        part = escape(_check_printable(item)) if autoescape else str(_check_printable(item))
        total += len(part)
        if total > MAX_VALUE_CHARS:  # stop before converting the rest
            raise _too_long()
        parts.append(part)
    return Markup("").join(parts) if autoescape else "".join(parts)


def _bounded_concat(parts: Iterable[str]) -> str:
    """``"".join`` for the buffers of macros, ``{% set %}`` and ``{% filter %}`` blocks
    (Jinja's ``environment.concat``), refused past :data:`MAX_VALUE_CHARS`."""
    pieces = list(parts)
    if sum(len(piece) for piece in pieces) > MAX_VALUE_CHARS:
        raise _too_long()
    return "".join(pieces)


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator with ``~`` routed through a length check."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("), context.eval_ctx.autoescape)")


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple | bytes) else None


def _join_filter(
    environment: ContractEnvironment, value: Any, d: str = "", attribute: Any = None
) -> str:
    # lazily: a join that goes over the bound stops without computing the rest
    items: Iterable[Any] = iter(value)
    if attribute is not None:
        items = (environment.getitem(item, attribute) for item in items)
    return _bounded_join(_interleave(items, d), autoescape=True)


def _interleave(items: Iterable[Any], separator: str) -> Iterator[Any]:
    for index, item in enumerate(items):
        if index:
            yield separator
        yield item


def _replace_filter(value: Any, old: str, new: str, count: int | None = None) -> str:
    text = str(value)
    occurrences = text.count(str(old)) if old else len(text) + 1
    if count is not None:
        occurrences = min(occurrences, max(count, 0))
    if len(text) + occurrences * max(len(str(new)) - len(str(old)), 0) > MAX_VALUE_CHARS:
        raise _too_long()
    result = text.replace(str(old), str(new), -1 if count is None else count)
    return Markup(result) if isinstance(value, Markup) else result


#: built-in filters that turn their input into text first (``str`` of a nested list)
_STRINGIFYING_FILTERS = frozenset(
    {
        "capitalize",
        "e",
        "escape",
        "forceescape",
        "lower",
        "string",
        "striptags",
        "title",
        "trim",
        "truncate",
        "upper",
        "wordcount",
    }
)


def _printable_input(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` (a filter) with its input checked by :func:`_check_printable`."""
    position = 1 if getattr(function, "jinja_pass_arg", None) else 0

    @functools.wraps(function)  # keeps Jinja's pass_environment mark
    def checked(*args: Any, **kwargs: Any) -> Any:
        if len(args) > position:
            _check_printable(args[position])
        return function(*args, **kwargs)

    return checked


def _round_filter(value: Any, precision: int = 0, method: str = "common") -> Any:
    if isinstance(precision, int) and abs(precision) > MAX_ROUND_DIGITS:
        raise RenderLimitExceeded(
            _l("a rounding precision above %(digits)s digits", digits=MAX_ROUND_DIGITS)
        )
    return FILTERS["round"](value, precision, method)


#: the argument of ``slice`` and ``batch`` that says how many pieces to make
_PIECES_ARGUMENT = {"slice": "slices", "batch": "linecount"}


def _pieces_checked(name: str) -> Callable[..., Any]:
    function = FILTERS[name]
    position = 2 if getattr(function, "jinja_pass_arg", None) else 1

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        pieces = args[position] if len(args) > position else kwargs.get(_PIECES_ARGUMENT[name])
        if isinstance(pieces, int) and pieces > MAX_PIECES:
            raise RenderLimitExceeded(
                _l("more than %(count)s pieces from '%(filter)s'", count=MAX_PIECES, filter=name)
            )
        return function(*args, **kwargs)

    return checked


@pass_environment
def _sum_filter(
    environment: ContractEnvironment, iterable: Any, attribute: Any = None, start: Any = 0
) -> Any:
    # ``sum`` of lists with a list ``start`` copies the growing list at every step
    if not isinstance(start, int | float) or isinstance(start, bool):
        raise SecurityError(_l("'sum' adds numbers only"))
    return FILTERS["sum"](environment, iterable, attribute, start)


def _int_bits(value: Any) -> int | None:
    return abs(value).bit_length() if isinstance(value, int) else None


def _check_arithmetic(operator_name: str, left: Any, right: Any) -> None:
    """Refuse, from the operands alone, arithmetic whose result would be too big to
    build quickly: an integer over :data:`MAX_INT_DIGITS` digits or a sequence over
    :data:`MAX_VALUE_CHARS` items."""
    left_bits, right_bits = _int_bits(left), _int_bits(right)
    if operator_name == "**" and left_bits is not None and right_bits is not None:
        # |a| > 1: a ** b has about bits(a) * b bits; a negative b makes a float
        if left_bits > 1 and right > 0 and (left_bits - 1) * right > MAX_INT_BITS:
            raise _too_big_number()
    elif operator_name == "*" and left_bits is not None and right_bits is not None:
        if left_bits + right_bits > MAX_INT_BITS + 1:
            raise _too_big_number()
    elif operator_name == "*":
        for sized, times in ((left, right), (right, left)):
            size = _size(sized)
            if size is not None and isinstance(times, int) and size * times > MAX_VALUE_CHARS:
                raise _too_long()
    elif operator_name == "+":
        sizes = (_size(left), _size(right))
        if None not in sizes and sum(s for s in sizes if s) > MAX_VALUE_CHARS:
            raise _too_long()


class ContractEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the bounds described in the module docstring."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "+", "-", "/", "//", "%", "**"})

    def __init__(self) -> None:
        super().__init__(autoescape=True, undefined=StrictUndefined, finalize=_check_printable)
        self.globals = {"range": self.globals["range"]}
        self.filters = {name: FILTERS[name] for name in SAFE_BUILTIN_FILTERS}
        for name in _STRINGIFYING_FILTERS:
            self.filters[name] = _printable_input(FILTERS[name])
        self.filters.update(
            {
                "round": _round_filter,
                "slice": _pieces_checked("slice"),
                "batch": _pieces_checked("batch"),
                "sum": _sum_filter,
                "join": pass_environment(_join_filter),
                "replace": _replace_filter,
                "money": formatting.money_filter,
                "number": formatting.number_filter,
                "percent": formatting.percent_filter,
                "date": formatting.date_filter,
                "kind_label": formatting.kind_label_filter,
            }
        )
        self.bounded_concat = _bounded_join
        self.concat = _bounded_concat  # type: ignore[method-assign]

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in BLOCKED_STR_METHODS:
            return False
        if isinstance(obj, int) and attr in BLOCKED_INT_METHODS:
            return False
        if isinstance(obj, Namespace):
            return False
        return super().is_safe_attribute(obj, attr, value)

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "%" and isinstance(left, str):
            raise SecurityError(_l("'%' string formatting is not available: use the filters"))
        _check_arithmetic(operator_name, left, right)
        result = _BINOPS[operator_name](left, right)
        if isinstance(result, int) and result.bit_length() > MAX_INT_BITS + 1:
            raise _too_big_number()  # sums of big numbers creep up a bit at a time
        return result


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "*": operator.mul,
    "+": operator.add,
    "-": operator.sub,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}


def build_environment() -> ContractEnvironment:
    """A fresh sandbox (cheap; environments are not shared between threads' renders)."""
    return ContractEnvironment()


def _syntax_issue(error: TemplateSyntaxError) -> TemplateIssue:
    return TemplateIssue(
        error.lineno, _l("syntax error: %(detail)s", detail=error.message or str(error))
    )


def _check_source_size(source: str) -> None:
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateValidationError(
            [
                TemplateIssue(
                    None,
                    _l("the template is longer than %(chars)s characters", chars=MAX_SOURCE_CHARS),
                )
            ]
        )


def _dotted(node: nodes.Node) -> tuple[nodes.Name, list[str]] | None:
    """``partner.name`` / ``partner['name']`` as (Name node, ["partner", "name"])."""
    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            parts.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            return node, [node.name, *reversed(parts)]
        else:
            return None


def unknown_variables(
    ast: nodes.Template, allowed: Sequence[str], undeclared: set[str]
) -> list[TemplateIssue]:
    """Issues for references to data the template is not given.

    ``allowed`` holds dotted paths (``partner.name``); a reference is fine when it
    names an allowed path, a prefix of one, or goes beyond an allowed leaf (a method
    of a string, which the sandbox still checks at render time). ``undeclared`` are the
    template-level names that are not assigned inside the template.
    """
    leaves = set(allowed)
    prefixes = {
        ".".join(path.split(".")[:i]) for path in allowed for i in range(1, path.count(".") + 1)
    }
    roots = {path.split(".")[0] for path in allowed}
    issues: dict[str, TemplateIssue] = {}
    seen_names: set[int] = set()

    def report(path: str, line: int) -> None:
        issues.setdefault(path, TemplateIssue(line, _l("unknown variable '%(name)s'", name=path)))

    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        found = _dotted(node)
        if found is None:
            continue
        name, parts = found
        if name.name not in undeclared or name.ctx != "load":
            continue
        seen_names.add(id(name))
        for i in range(1, len(parts) + 1):
            path = ".".join(parts[:i])
            if path in leaves:
                break
            if path not in prefixes:
                report(path, node.lineno)
                break
    for name in ast.find_all(nodes.Name):
        if (
            name.ctx == "load"
            and name.name in undeclared
            and name.name not in roots
            and name.name not in TEMPLATE_GLOBALS
        ):
            report(name.name, name.lineno)
    return sorted(issues.values(), key=lambda issue: (issue.line or 0, issue.message))


def validate_source(source: str, allowed: Sequence[str]) -> None:
    """Check that ``source`` compiles in the sandbox and uses only ``allowed`` data.

    Raises:
        TemplateValidationError: with every issue found, each with its line number.
    """
    from jinja2 import meta

    _check_source_size(source)
    environment = build_environment()
    try:
        ast = environment.parse(source)
        environment.compile(source)
    except TemplateSyntaxError as error:
        raise TemplateValidationError([_syntax_issue(error)]) from None
    undeclared = meta.find_undeclared_variables(ast)
    issues = unknown_variables(ast, allowed, undeclared)
    for access in ast.find_all((nodes.Getattr, nodes.Getitem)):
        name = getattr(access, "attr", None) or getattr(getattr(access, "arg", None), "value", None)
        if isinstance(name, str) and name.startswith("_"):
            issues.append(
                TemplateIssue(access.lineno, _l("attribute '%(name)s' is not allowed", name=name))
            )
    for statement in ast.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        issues.append(
            TemplateIssue(statement.lineno, _l("templates cannot include or import others"))
        )
    if issues:
        raise TemplateValidationError(issues)


def _template_line(traceback: TracebackType | None) -> int | None:
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Stop template code that runs longer than ``seconds`` (only frames of templates
    are traced, so filters and the rest of the program run at full speed)."""
    deadline = time.monotonic() + seconds
    previous = sys.gettrace()
    counter = 0

    def local_trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal counter
        counter += 1
        if counter % 256 == 0 and time.monotonic() > deadline:
            raise RenderLimitExceeded(
                _l("rendering took longer than %(seconds)s s", seconds=f"{seconds:g}")
            )
        return local_trace

    def global_trace(frame: FrameType, event: str, arg: Any) -> Any:
        return local_trace if frame.f_code.co_filename == TEMPLATE_FILENAME else None

    sys.settrace(global_trace)
    try:
        yield
    finally:
        sys.settrace(previous)


def render_source(
    source: str,
    data: Mapping[str, Any],
    *,
    max_output_chars: int = MAX_OUTPUT_CHARS,
    seconds: float = RENDER_SECONDS,
    limits: ChildLimits = CHILD_LIMITS,
) -> str:
    """Render an untrusted template with plain ``data`` inside the sandbox's bounds, in
    a forked child process under ``limits`` (hard processor and memory limits and a
    wall-clock kill), so no template holds the calling web or rq worker.

    ``data`` must hold only dicts, lists, strings, numbers, booleans and None.

    Raises:
        TemplateValidationError: the template does not compile.
        RenderLimitExceeded: output, a value, a number, the time budget, the child's
            processor time or memory went over its bound.
        TemplateRenderError: an unknown variable, an unsafe access or another error,
            with the template line when known.
    """
    _check_source_size(source)
    try:
        result: str = run_in_child(_render_here, (source, data, max_output_chars, seconds), limits)
    except ChildStopped as stopped:
        raise RenderLimitExceeded(_stopped_message(stopped, limits)) from None
    return result


def _stopped_message(stopped: ChildStopped, limits: ChildLimits) -> Any:
    if stopped.reason == "cpu":
        return _l(
            "rendering used more than %(seconds)s s of processor time",
            seconds=limits.cpu_seconds,
        )
    if stopped.reason == "wall":
        return _l("rendering took longer than %(seconds)s s", seconds=f"{limits.wall_seconds:g}")
    return _l("the renderer stopped unexpectedly (%(detail)s)", detail=stopped.detail)


def _render_here(
    source: str, data: Mapping[str, Any], max_output_chars: int, seconds: float
) -> str:
    """The render itself, in the current process (:func:`render_source` calls it in a
    child)."""
    environment = build_environment()
    try:
        template = environment.from_string(source)
    except TemplateSyntaxError as error:
        raise TemplateValidationError([_syntax_issue(error)]) from None
    chunks: list[str] = []
    total = 0
    try:
        with _deadline(seconds):
            for chunk in template.generate(dict(data)):
                total += len(chunk)
                if total > max_output_chars:
                    raise RenderLimitExceeded(
                        _l("the output is longer than %(chars)s characters", chars=max_output_chars)
                    )
                chunks.append(chunk)
    except RenderLimitExceeded as error:
        raise RenderLimitExceeded(
            error.issue.message, _template_line(error.__traceback__)
        ) from None
    except SecurityError as error:
        raise TemplateRenderError(
            _refusal_message(error), _template_line(error.__traceback__)
        ) from None
    except UndefinedError as error:
        raise TemplateRenderError(
            _undefined_message(error), _template_line(error.__traceback__)
        ) from None
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as error:
        raise TemplateRenderError(
            _l("the template failed: %(detail)s", detail=f"{type(error).__name__}: {error}"),
            _template_line(error.__traceback__),
        ) from None
    except RecursionError:
        raise TemplateRenderError(_l("the template recurses too deeply")) from None
    except MemoryError:
        raise RenderLimitExceeded(_l("the template ran out of memory")) from None
    return "".join(chunks)


_QUOTED = re.compile(r"'([^']+)'")


def _refusal_message(error: SecurityError) -> Any:
    """A sandbox refusal in the reader's language: ours are already translated;
    Jinja's own ("access to attribute '__class__' of 'str' object is unsafe.") name
    the attribute."""
    message = error.args[0] if error.args else ""
    if not isinstance(message, str):
        return message
    attribute = re.search(r"attribute '([^']+)'", message)
    if attribute:
        return _l("attribute '%(name)s' is not allowed", name=attribute.group(1))
    return _l("not allowed in templates: %(detail)s", detail=message)


def _undefined_message(error: UndefinedError) -> Any:
    """Jinja's "'foo' is undefined" / "'dict object' has no attribute 'bar'" in the
    reader's language, naming the variable or the field."""
    message = str(error)
    names = _QUOTED.findall(message)
    if "has no attribute" in message and names:
        return _l("unknown field '%(name)s'", name=names[-1])
    if names:
        return _l("unknown variable '%(name)s'", name=names[0])
    return _l("unknown variable: %(detail)s", detail=message)
