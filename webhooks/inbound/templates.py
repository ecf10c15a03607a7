"""Customer templates, rendered in Jinja2's sandbox with StrictUndefined.

The sandbox stops attribute tricks (`__class__`, `__globals__`…) and, being the immutable
one, changes to the payload (`items.append(…)` inside a loop over `items` never ends);
StrictUndefined turns a missing variable into an error instead of an empty string.
Jinja's sandbox limits neither time nor sizes, and a worker renders templates for every
account, so:
- a render has a time budget, checked on every line of template code and every call (the
  compiled template is Python code named "<template>": loops and macro recursion run there);
- values may not grow past MAX_VALUE: `*`, `**`, `+` and `%` are checked before they
  compute, size-taking filters and string methods before they pad, and every filter or call
  result after it returns;
- the output is read chunk by chunk and stops at MAX_OUTPUT.
https://jinja.palletsprojects.com/en/stable/sandbox/
"""

import contextlib
import operator
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.runtime import Namespace
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_REPEAT = 10_000
MAX_EXPONENT = 64
MAX_INT_BITS = 4096  # about 1200 digits: any amount or id a payload holds
MAX_VALUE = 1_000_000  # characters or items of any value a template computes
MAX_OUTPUT = 100_000
MAX_SECONDS = 2.0
TEMPLATE_FILENAME = "<template>"  # what Jinja names the code compiled by from_string

# Filters whose arguments are widths or counts: their output grows with them.
SIZED_FILTERS = ("center", "indent", "wordwrap", "tojson", "batch", "slice")
# str methods whose int arguments are widths (the rest take ints as indexes or counts).
PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
# A width or precision in a %-format or a {}-format, e.g. "%1000000s" or "{:>1000000}".
_PERCENT_WIDTH = re.compile(r"%[-+ #0]*(\*|\d+)(?:\.(\*|\d+))?")
_BRACE_WIDTH = re.compile(r"\{[^{}]*:[^{}]*?(\d+)[^{}]*\}")


# Error codes of a render stopped by a limit (README, "Inbound webhooks"); other render
# errors (an undefined variable, a sandbox refusal, a syntax error) have none.
TEMPLATE_TOO_LARGE = "template_too_large"
TEMPLATE_TIMEOUT = "template_timeout"
OUT_OF_MEMORY = "the template needs too much memory"


class RenderError(ValueError):
    """A template could not render; the message says why, for a person."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


class _TooLarge(SecurityError):
    """A size check refused a value (a SecurityError, so Jinja lets it through unchanged)."""


class _TooSlow(Exception):
    pass


_budget = threading.local()


def _check_time() -> None:
    deadline = getattr(_budget, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise _TooSlow


def _check_size(value: Any) -> Any:
    if isinstance(value, str | bytes | list | tuple | dict) and len(value) > MAX_VALUE:
        raise _TooLarge("the template builds a value that is too large")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _TooLarge("the template computes a number that is too large")
    return value


def _check_widths(*numbers: Any) -> None:
    if any(isinstance(n, int) and abs(n) > MAX_VALUE for n in numbers):
        raise _TooLarge("the template asks for a width that is too large")


def _check_format(format_string: Any, arguments: Any = ()) -> None:
    if not isinstance(format_string, str):
        return
    for match in _PERCENT_WIDTH.finditer(format_string):
        if "*" in match.group(0):  # the width is one of the arguments
            values = arguments if isinstance(arguments, tuple) else (arguments,)
            _check_widths(*values)
        _check_widths(*(int(group) for group in match.groups() if group and group != "*"))
    _check_widths(*(int(width) for width in _BRACE_WIDTH.findall(format_string)))


def _sized_filter(function: Callable) -> Callable:
    # Jinja passes the environment or eval context first to filters marked as wanting it;
    # then comes the value, then the arguments that are checked.
    first_argument = 2 if hasattr(function, "jinja_pass_arg") else 1

    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_time()
        _check_widths(*args[first_argument:], *kwargs.values())
        return _check_size(function(*args, **kwargs))

    # Jinja passes the environment or context to filters marked as wanting them.
    guarded.__dict__.update(function.__dict__)
    return guarded


class _Namespace(Namespace):
    """`namespace()` whose attributes cannot carry a huge value from one loop to the next."""

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, _check_size(value))


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context, operator_name: str, left: Any, right: Any) -> Any:
        _check_time()
        if operator_name == "*":
            for sequence, count in ((left, right), (right, left)):
                repeats = isinstance(sequence, str | list | tuple) and isinstance(count, int)
                if repeats and count * max(len(sequence), 1) > MAX_REPEAT:
                    raise _TooLarge("the template builds a value that is too large")
            both_ints = isinstance(left, int) and isinstance(right, int)
            if both_ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise _TooLarge("the template computes a number that is too large")
            return operator.mul(left, right)
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise _TooLarge("the template computes a power that is too large")
            both_ints = isinstance(left, int) and isinstance(right, int)
            if both_ints and left.bit_length() * abs(right) > MAX_INT_BITS:
                raise _TooLarge("the template computes a number that is too large")
            return operator.pow(left, right)
        if operator_name == "+":
            sized = isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple)
            if sized and len(left) + len(right) > MAX_VALUE:
                raise _TooLarge("the template builds a value that is too large")
            return _check_size(operator.add(left, right))
        if operator_name == "%" and isinstance(left, str):
            _check_format(left, right)
            return _check_size(operator.mod(left, right))
        return super().call_binop(context, operator_name, left, right)

    # map('filter') and select/reject('test') call these once per item, from Jinja's code
    # (untraced): without a check here, `range(99999) | select('in', big_list)` ran for
    # minutes inside one filter call, and only the parent's wall clock stopped it, without
    # naming the rule.
    def call_filter(self, *args: Any, **kwargs: Any) -> Any:
        _check_time()
        return super().call_filter(*args, **kwargs)

    def call_test(self, *args: Any, **kwargs: Any) -> Any:
        _check_time()
        return super().call_test(*args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # Jinja swaps `'…'.format` for a sandboxed wrapper when the template reads it.
        if isinstance(getattr(value, "__self__", None), str):
            _check_format(value.__self__)
        return super().wrap_str_format(value)

    def call(__self, __context, __obj, *args: Any, **kwargs: Any) -> Any:
        _check_time()
        padding = getattr(__obj, "__name__", "") in PADDING_METHODS
        if padding and isinstance(getattr(__obj, "__self__", None), str):
            _check_widths(*args, *kwargs.values())
        return _check_size(super().call(__context, __obj, *args, **kwargs))


def _new_environment() -> _Environment:
    env = _Environment(undefined=StrictUndefined, autoescape=False)
    for name in SIZED_FILTERS:
        env.filters[name] = _sized_filter(env.filters[name])
    original_format = env.filters["format"]

    def format_filter(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_format(value, args)
        return _check_size(original_format(value, *args, **kwargs))

    env.filters["format"] = format_filter
    original_replace = env.filters["replace"]

    def replace_filter(eval_ctx, s: Any, old: Any, new: Any, count: Any = None) -> Any:
        if isinstance(s, str) and isinstance(old, str) and isinstance(new, str):
            growth = (s.count(old) if old else len(s) + 1) * max(len(new) - len(old), 0)
            if len(s) + growth > MAX_VALUE:
                raise _TooLarge("the template builds a value that is too large")
        return _check_size(original_replace(eval_ctx, s, old, new, count))

    replace_filter.__dict__.update(original_replace.__dict__)
    env.filters["replace"] = replace_filter
    env.globals["namespace"] = _Namespace
    del env.globals["lipsum"]  # Lorem ipsum of any length: no use in a notification
    return env


_env = _new_environment()


def syntax_error(source: str) -> str | None:
    """None if the template parses, else what is wrong with it."""
    try:
        _env.parse(source)
    except TemplateSyntaxError as exc:
        return f"template syntax error on line {exc.lineno}: {exc.message}"
    except RecursionError:
        return "the template nests too deeply"
    return None


def expression_syntax_error(source: str) -> str | None:
    """None if the condition (a Jinja2 expression, as in `{{ … }}`) compiles, else why not."""
    try:
        _env.compile_expression(source, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        return f"expression syntax error: {exc.message}"
    except RecursionError:
        return "the expression nests too deeply"
    return None


def render(source: str, variables: dict[str, Any]) -> str:
    return _guarded(_render_within_budget, source, variables)


def holds(source: str, variables: dict[str, Any]) -> bool:
    """Whether a rule's `when` holds: the expression's truthiness, in the same sandbox and
    budget as the templates. undefined_to_none=False keeps StrictUndefined, so a missing
    value raises (RenderError) instead of quietly reading as false.
    https://jinja.palletsprojects.com/en/stable/api/#jinja2.Environment.compile_expression"""
    return _guarded(_holds_within_budget, source, variables)


def _guarded(function: Callable[[str, dict[str, Any]], Any], *args: Any) -> Any:
    """Run a render or an evaluation; every way it can fail becomes a RenderError."""
    try:
        return function(*args)
    except RenderError:
        raise
    except _TooLarge as exc:
        raise RenderError(str(exc), code=TEMPLATE_TOO_LARGE) from None
    except UndefinedError as exc:
        raise RenderError(f"template variable {_undefined_name(exc)} is undefined") from None
    except SecurityError as exc:
        raise RenderError(f"the template is not allowed: {exc}") from None
    except TemplateSyntaxError as exc:
        raise RenderError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
    except _TooSlow:
        message = f"the template took longer than {MAX_SECONDS:g} s"
        raise RenderError(message, code=TEMPLATE_TIMEOUT) from None
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise RenderError(f"the template failed: {exc}") from None
    except RecursionError:
        raise RenderError("the template nests too deeply") from None
    except MemoryError:
        raise RenderError(OUT_OF_MEMORY, code=TEMPLATE_TOO_LARGE) from None


@contextlib.contextmanager
def _budgeted():
    previous_tracer = sys.gettrace()
    _budget.deadline = time.monotonic() + MAX_SECONDS
    sys.settrace(_trace_template_code)
    try:
        yield
    finally:
        sys.settrace(previous_tracer)
        _budget.deadline = None


def _holds_within_budget(source: str, variables: dict[str, Any]) -> bool:
    # compile_expression compiles a template like from_string does (named "<template>"),
    # so the tracer below checks its time as it does a template's.
    expression = _env.compile_expression(source, undefined_to_none=False)
    with _budgeted():
        result = _check_size(expression(variables))  # positional: a "self" key is data
        return bool(result)  # StrictUndefined raises here: truthiness of nothing is an error


def _render_within_budget(source: str, variables: dict[str, Any]) -> str:
    template = _env.from_string(source)
    with _budgeted():
        chunks: list[str] = []
        length = 0
        for chunk in template.generate(variables):
            length += len(chunk)
            if length > MAX_OUTPUT:
                message = f"the template produced more than {MAX_OUTPUT} characters"
                raise RenderError(message, code=TEMPLATE_TOO_LARGE)
            chunks.append(chunk)
            _check_time()
        return "".join(chunks)


def _trace_template_code(frame, event: str, arg: Any):
    # Line events only in the template's own code: a loop with an empty body still runs a
    # line per iteration there, and Jinja's and Python's code stay untraced.
    if frame.f_code.co_filename == TEMPLATE_FILENAME:
        _check_time()
        return _trace_lines
    return None


def _trace_lines(frame, event: str, arg: Any):
    _check_time()
    return _trace_lines


def _undefined_name(exc: UndefinedError) -> str:
    # Jinja says "'order_number' is undefined" or "'dict object' has no attribute 'x'".
    text = str(exc.message or exc)
    if text.endswith(" is undefined"):
        return text.removesuffix(" is undefined")
    if "has no attribute" in text:
        return text.rsplit("has no attribute", 1)[1].strip()
    return repr(text)
