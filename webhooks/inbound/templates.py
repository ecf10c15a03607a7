"""Customer templates, rendered in Jinja2's sandbox with StrictUndefined.

The sandbox stops attribute tricks (`__class__`, `__globals__`…); StrictUndefined turns a
missing variable into an error instead of an empty string. Jinja's sandbox does not limit
sizes, so `*` and `**` are intercepted to stop a template from making a huge string.
https://jinja.palletsprojects.com/en/stable/sandbox/
"""

import operator
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_REPEAT = 10_000
MAX_EXPONENT = 64
MAX_OUTPUT = 100_000


class RenderError(ValueError):
    """A template could not render; the message says why, for a person."""


class _Environment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "*":
            for sequence, count in ((left, right), (right, left)):
                repeats = isinstance(sequence, str | list | tuple) and isinstance(count, int)
                if repeats and count * max(len(sequence), 1) > MAX_REPEAT:
                    raise SecurityError("the template builds a value that is too large")
            return operator.mul(left, right)
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError("the template computes a power that is too large")
            return operator.pow(left, right)
        return super().call_binop(context, operator_name, left, right)


_env = _Environment(undefined=StrictUndefined, autoescape=False)


def syntax_error(source: str) -> str | None:
    """None if the template parses, else what is wrong with it."""
    try:
        _env.parse(source)
    except TemplateSyntaxError as exc:
        return f"template syntax error on line {exc.lineno}: {exc.message}"
    return None


def render(source: str, variables: dict[str, Any]) -> str:
    try:
        output = _env.from_string(source).render(variables)
    except UndefinedError as exc:
        raise RenderError(f"template variable {_undefined_name(exc)} is undefined") from None
    except SecurityError as exc:
        raise RenderError(f"the template is not allowed: {exc}") from None
    except TemplateSyntaxError as exc:
        raise RenderError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise RenderError(f"the template failed: {exc}") from None
    except RecursionError:
        raise RenderError("the template nests too deeply") from None
    if len(output) > MAX_OUTPUT:
        raise RenderError(f"the template produced {len(output)} characters; at most {MAX_OUTPUT}")
    return output


def _undefined_name(exc: UndefinedError) -> str:
    # Jinja says "'order_number' is undefined" or "'dict object' has no attribute 'x'".
    text = str(exc.message or exc)
    if text.endswith(" is undefined"):
        return text.removesuffix(" is undefined")
    if "has no attribute" in text:
        return text.rsplit("has no attribute", 1)[1].strip()
    return repr(text)
