"""Rule templates are customer code run by shared workers: they must stay in the sandbox,
finish within the time budget, and fail only with RenderError (which fails one event with
a readable reason, instead of crashing the task)."""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webhooks.inbound.rules import template_variables
from webhooks.inbound.templates import MAX_OUTPUT, MAX_SECONDS, RenderError, render

# A render may use its whole budget, plus the time to notice; "a few seconds" at most.
TIME_LIMIT = MAX_SECONDS + 2.0

NESTED_LOOPS = (
    "{{% for i in range(10**5) %}}{{% for j in range(10**5) %}}{body}{{% endfor %}}{{% endfor %}}"
)
HOSTILE = {
    "class walk": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "globals via cycler": "{{ cycler.__init__.__globals__ }}",
    "globals via joiner": "{{ joiner.__init__.__globals__['os'] }}",
    "globals via namespace": "{{ namespace.__init__.__globals__ }}",
    "template self": "{{ self.__init__.__globals__ }}",
    "payload class": "{{ payload.__class__.__base__.__subclasses__() }}",
    "attr filter": "{{ payload|attr('__class__') }}",
    "format walk": "{{ '{0.__class__.__mro__}'.format(payload) }}",
    "format_map walk": "{{ '{p.__class__}'.format_map({'p': payload}) }}",
    "dict mutation": "{{ payload.update({'x': 1}) }}{{ payload.clear() }}",
    "append while iterating": "{% for i in items %}{{ items.append(i) }}{% endfor %}",
    "huge repetition": "{{ 'x' * 10**9 }}",
    "repetition of repetition": "{{ 'x' * 10000 * 10000 }}",
    "list repetition": "{{ [payload] * 100000 * 100000 }}",
    "huge power": "{{ 10 ** 100000 }}",
    "power tower": "{{ (((10 ** 64) ** 64) ** 64) ** 64 }}",
    "huge range": "{{ range(10**9)|list|length }}",
    "padding": "{{ 'x'.ljust(10**10) }}",
    "center filter": "{{ 'x'|center(10**10) }}",
    "indent filter": "{{ 'x'|indent(10**10) }}",
    "percent width": "{{ '%*s' % (10**10, 'x') }}",
    "format width": "{{ '{:>10000000000}'.format('x') }}",
    "format filter width": "{{ '%10000000000s'|format('x') }}",
    "tojson indent": "{{ payload|tojson(indent=10**10) }}",
    "batch fill": "{{ [1]|batch(10**10, 0)|list }}",
    "replace growth": "{{ ('x' * 10000)|replace('x', 'x' * 10000)|replace('x', 'x' * 10000) }}",
    "lipsum": "{{ lipsum(n=10**9) }}",
    "doubling with ~": (
        "{% set ns = namespace(s='x') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"
    ),
    "doubling with +": (
        "{% set ns = namespace(s=[1]) %}{% for i in range(64) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}"
    ),
    "squaring": (
        "{% set ns = namespace(n=10**60) %}{% for i in range(64) %}"
        "{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n }}"
    ),
    "infinite recursion": "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "exponential recursion": (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(64) }}"
    ),
    "busy loops": NESTED_LOOPS.format(body=""),
    "output flood": NESTED_LOOPS.format(body="x"),
    "deep nesting": "{{ " + "(" * 10_000 + "1" + ")" * 10_000 + " }}",
}


def timed_render(source: str, variables: dict) -> tuple[str | RenderError, float]:
    started = time.monotonic()
    try:
        outcome: str | RenderError = render(source, variables)
    except RenderError as exc:
        outcome = exc
    return outcome, time.monotonic() - started


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_template_is_refused_quickly(source):
    payload = {"order": {"id": 1}, "items": [1, 2, 3]}

    outcome, elapsed = timed_render(source, template_variables(payload, "order.paid"))

    assert isinstance(outcome, RenderError), f"rendered {str(outcome)[:200]!r}"
    assert str(outcome)
    assert elapsed < TIME_LIMIT


# Keys that shadow attributes and methods, next to any text.
keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["__class__", "__init__", "__globals__", "items", "keys", "update"]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=40,
)
payloads = st.dictionaries(keys, json_values, max_size=8)

# Templates a customer might write, and the hostile ones cheap enough to run per example.
PAYLOAD_TEMPLATES = [
    "New order #{{ order_number }}: {{ total_price }} from {{ customer.first_name }}",
    "{{ payload }}",
    "{{ payload|tojson }}",
    "{% for key, value in payload.items() %}{{ key }}={{ value }};{% endfor %}",
    "{% for a in payload %}{% for b in payload %}{{ a }}{{ b }}{% endfor %}{% endfor %}",
    "{{ payload.values()|list|join(', ') }}",
    "{{ event_type|upper }}: {{ payload|length }} fields",
    "{{ payload.__class__ }}",
    "{{ payload['__class__'] }}{{ payload.__init__ }}",
    "{% for v in payload.values() %}{{ v * 100000 }}{% endfor %}",
    "{% for v in payload.values() %}{{ v ** 100 }}{% endfor %}",
    "{% for v in payload.values() %}{{ v ~ v ~ v }}{{ v + v }}{% endfor %}",
    "{{ '%s %s' % (payload, event_type) }}",
    "{{ payload|dictsort|batch(3)|list }}",
]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(source=st.sampled_from(PAYLOAD_TEMPLATES), payload=payloads)
def test_rendering_any_payload_gives_text_or_a_render_error(source, payload):
    outcome, elapsed = timed_render(source, template_variables(payload, "order.paid"))

    assert isinstance(outcome, str | RenderError)
    if isinstance(outcome, str):
        assert len(outcome) <= MAX_OUTPUT
        assert "<class" not in outcome and "<function" not in outcome
    assert elapsed < TIME_LIMIT


TEMPLATE_TOKENS = [
    *["{{", "}}", "{%", "%}", "{#", "#}", "(", ")", "[", "]", ".", "|", "*", "**", "~", "'", "1"],
    *["for x in", "endfor", "if", "endif", "macro", "endmacro", "set", "payload", "range"],
    "namespace",
]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    source=st.one_of(
        st.text(max_size=200),
        st.lists(
            st.sampled_from(TEMPLATE_TOKENS),
            max_size=40,
        ).map(" ".join),
    ),
    payload=payloads,
)
def test_rendering_any_source_gives_text_or_a_render_error(source, payload):
    outcome, elapsed = timed_render(source, template_variables(payload, "x"))

    assert isinstance(outcome, str | RenderError)
    assert elapsed < TIME_LIMIT
