"""The Jinja2 sandbox that user-edited contract templates compile and render in.

Templates are untrusted: Legal edits them in the browser. They render in an
``ImmutableSandboxedEnvironment`` with autoescaping, plain data (dicts, lists, strings,
numbers) and a short list of filters. The sandbox blocks attribute tricks but bounds
neither CPU nor memory, so this module adds the bounds:

* every value a template builds (``*``, ``+``, ``~``, ``join``, ``replace``) is at most
  :data:`MAX_VALUE_CHARS` long, and ``%`` string formatting and ``**`` beyond a small
  exponent are refused;
* the output is streamed and stops at :data:`MAX_OUTPUT_CHARS`;
* the template's own code runs under a line tracer that stops it after
  :data:`RENDER_SECONDS` (a loop that outputs nothing is still stopped).
"""

from __future__ import annotations

import operator
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes, pass_environment
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.filters import FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace
from markupsafe import Markup, escape

from server.documents import formatting

#: longest template source accepted (characters)
MAX_SOURCE_CHARS = 200_000
#: longest string, list or tuple a template may build
MAX_VALUE_CHARS = 1_000_000
#: longest rendered HTML (characters); a contract is ~30 000
MAX_OUTPUT_CHARS = 2_000_000
#: wall-clock budget for running a template's code (PDF layout is bounded separately)
RENDER_SECONDS = 2.0
#: largest exponent ``**`` accepts
MAX_EXPONENT = 64

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


@dataclass(frozen=True)
class TemplateIssue:
    """One problem in a template, with the 1-based line it is on (when known)."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class TemplateValidationError(TemplateError):
    """The template does not compile or uses unknown variables; see ``issues``."""

    def __init__(self, issues: Sequence[TemplateIssue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(str(issue) for issue in self.issues))


class TemplateRenderError(TemplateError):
    """Rendering failed or was refused (unsafe access, a limit); ``line`` if known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        self.issue = TemplateIssue(line, message)
        super().__init__(str(self.issue))


class RenderLimitExceeded(TemplateRenderError):
    """The template exceeded a size or time bound."""


def _bounded_join(items: Sequence[Any], autoescape: bool) -> str:
    parts: list[str] = []
    total = 0
    for item in items:
        part = escape(item) if autoescape else str(item)
        total += len(part)
        if total > MAX_VALUE_CHARS:  # stop before converting the rest
            raise RenderLimitExceeded(f"a value longer than {MAX_VALUE_CHARS} characters")
        parts.append(part)
    return Markup("").join(parts) if autoescape else "".join(parts)


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
    items = list(value)
    if attribute is not None:
        items = [environment.getitem(item, attribute) for item in items]
    return _bounded_join(_interleave(items, d), autoescape=True)


def _interleave(items: list[Any], separator: str) -> list[Any]:
    out: list[Any] = []
    for index, item in enumerate(items):
        if index:
            out.append(separator)
        out.append(item)
    return out


def _replace_filter(value: Any, old: str, new: str, count: int | None = None) -> str:
    text = str(value)
    occurrences = text.count(str(old)) if old else len(text) + 1
    if count is not None:
        occurrences = min(occurrences, max(count, 0))
    if len(text) + occurrences * max(len(str(new)) - len(str(old)), 0) > MAX_VALUE_CHARS:
        raise RenderLimitExceeded(f"a value longer than {MAX_VALUE_CHARS} characters")
    result = text.replace(str(old), str(new), -1 if count is None else count)
    return Markup(result) if isinstance(value, Markup) else result


class ContractEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the bounds described in the module docstring."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "+", "%", "**"})

    def __init__(self) -> None:
        super().__init__(autoescape=True, undefined=StrictUndefined)
        self.globals = {"range": self.globals["range"]}
        self.filters = {name: FILTERS[name] for name in SAFE_BUILTIN_FILTERS}
        self.filters.update(
            {
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

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in BLOCKED_STR_METHODS:
            return False
        if isinstance(obj, Namespace):
            return False
        return super().is_safe_attribute(obj, attr, value)

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "%" and isinstance(left, str):
            raise SecurityError("'%' string formatting is not available: use the filters")
        if operator_name == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise RenderLimitExceeded(f"an exponent above {MAX_EXPONENT}")
        if operator_name == "*":
            for sized, times in ((left, right), (right, left)):
                size = _size(sized)
                if size is not None and isinstance(times, int) and size * times > MAX_VALUE_CHARS:
                    raise RenderLimitExceeded(f"a value longer than {MAX_VALUE_CHARS} characters")
        if operator_name == "+":
            sizes = (_size(left), _size(right))
            if None not in sizes and sum(s for s in sizes if s) > MAX_VALUE_CHARS:
                raise RenderLimitExceeded(f"a value longer than {MAX_VALUE_CHARS} characters")
        return _BINOPS[operator_name](left, right)


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "*": operator.mul,
    "+": operator.add,
    "%": operator.mod,
    "**": operator.pow,
}


def build_environment() -> ContractEnvironment:
    """A fresh sandbox (cheap; environments are not shared between threads' renders)."""
    return ContractEnvironment()


def _syntax_issue(error: TemplateSyntaxError) -> TemplateIssue:
    return TemplateIssue(error.lineno, error.message or str(error))


def _check_source_size(source: str) -> None:
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateValidationError(
            [TemplateIssue(None, f"the template is longer than {MAX_SOURCE_CHARS} characters")]
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
        issues.setdefault(path, TemplateIssue(line, f"unknown variable '{path}'"))

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
            issues.append(TemplateIssue(access.lineno, f"attribute '{name}' is not allowed"))
    for statement in ast.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        issues.append(TemplateIssue(statement.lineno, "templates cannot include or import others"))
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
            raise RenderLimitExceeded(f"rendering took longer than {seconds:g} s")
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
) -> str:
    """Render an untrusted template with plain ``data`` inside the sandbox's bounds.

    ``data`` must hold only dicts, lists, strings, numbers, booleans and None.

    Raises:
        TemplateValidationError: the template does not compile.
        RenderLimitExceeded: output, a value or the time budget went over its bound.
        TemplateRenderError: an unknown variable, an unsafe access or another error,
            with the template line when known.
    """
    _check_source_size(source)
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
                        f"the output is longer than {max_output_chars} characters"
                    )
                chunks.append(chunk)
    except RenderLimitExceeded as error:
        raise RenderLimitExceeded(
            error.issue.message, _template_line(error.__traceback__)
        ) from None
    except SecurityError as error:
        raise TemplateRenderError(
            f"not allowed in templates: {error}", _template_line(error.__traceback__)
        ) from None
    except UndefinedError as error:
        raise TemplateRenderError(
            f"unknown variable: {error}", _template_line(error.__traceback__)
        ) from None
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as error:
        raise TemplateRenderError(
            f"{type(error).__name__}: {error}", _template_line(error.__traceback__)
        ) from None
    except RecursionError:
        raise TemplateRenderError("the template recurses too deeply") from None
    except MemoryError:
        raise RenderLimitExceeded("the template ran out of memory") from None
    return "".join(chunks)
