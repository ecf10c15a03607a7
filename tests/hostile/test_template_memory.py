"""No template makes the rendering process grow past ONEPING_TEMPLATE_MEMORY_BUDGET_MB,
whatever the payload (≤ 1 MiB): each event's templates render in a forked child under
RLIMIT_AS (webhooks/inbound/isolation.py).

Growth is measured per child: wait4(2)'s ru_maxrss of the render minus that of a trivial
template rendered the same way just before (a forked child starts with its parent's
resident size, which grows as the test run goes on)."""

import json
import os
import resource

import pytest
from django.conf import settings as django_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from webhooks.inbound import payload as payloads
from webhooks.inbound import templates
from webhooks.inbound.isolation import ISOLATED, run_in_child
from webhooks.inbound.rules import template_variables
from webhooks.inbound.templates import TEMPLATE_TIMEOUT, TEMPLATE_TOO_LARGE

pytestmark = pytest.mark.skipif(not ISOLATED, reason="templates render in a child on Linux")

MIB = 1024 * 1024
TRIVIAL = "{{ event_type }}"
# The forms a security review found allocating gigabytes before any size check looked.
HOSTILE = {
    "repeat then join": "{{ ([payload.s] * 10000) | join }}",
    "replace empty": "{{ s.replace('', s) }}",
    "join with a big separator": "{{ sep.join(items) }}",
    "percent mapping width": "{{ '%(k)999999999s' % {'k': k} }}",
    "format nested width": "{{ '{0:>{1}}'.format('a', n) }}",
    "chain of ~": "{{ " + " ~ ".join(["s"] * 2000) + " }}",
    "chain of ~ in a loop": (
        "{% set ns = namespace(t='') %}{% for i in range(5000) %}{% set ns.t = s ~ s %}"
        "{{ ns.t ~ ns.t ~ ns.t }}{% endfor %}"
    ),
}


def budget() -> int:
    return django_settings.ONEPING_TEMPLATE_MEMORY_BUDGET_MB * MIB


def hostile_payload() -> bytes:
    """Just under 1 MiB of JSON (the largest body /hooks/in accepts), built to feed the
    forms above: a long string, a long separator, many items, a huge width."""
    body = {
        "event": "x",
        "s": "x" * (512 * 1024),
        "sep": "y" * (256 * 1024),
        "items": [""] * 60_000,
        "n": 10**12,
        "k": "v",
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    assert len(raw) <= MIB
    return raw


@pytest.fixture(scope="module")
def variables() -> dict:
    return template_variables(payloads.parse(hostile_payload(), "application/json"), "x")


def growth(source: str, variables: dict) -> tuple[int, object]:
    """Bytes the render of `source` grew its child by, over a trivial template's child."""
    limits = {"budget_bytes": budget(), "timeout": 30.0}
    trivial = run_in_child({"message": TRIVIAL}, variables, **limits)
    assert trivial.outputs == {"message": "x"}, trivial
    outcome = run_in_child({"message": source}, variables, **limits)
    return (outcome.max_rss_kib - trivial.max_rss_kib) * 1024, outcome


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_template_stays_within_the_memory_budget(source, variables):
    grew, outcome = growth(source, variables)

    print(f"\n[template-memory] grew {grew / MIB:.1f} MiB: {outcome.code} {outcome.message}")
    assert grew <= budget(), f"grew {grew / MIB:.1f} MiB"
    assert outcome.code == TEMPLATE_TOO_LARGE, outcome
    assert not outcome.killed


# Expressions built from the payload's big values and the operators that multiply sizes.
ATOMS = ["s", "sep", "payload.s", "k", "'ab'", "event_type"]


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    counts = st.sampled_from(["2", "100", "10000", "n", "999999999"])
    return st.one_of(
        st.tuples(inner, inner).map(lambda p: f"({p[0]} ~ {p[1]})"),
        st.tuples(inner, counts).map(lambda p: f"([{p[0]}] * {min(len(p[1]), 4) * 1000})|join"),
        st.tuples(inner, inner).map(lambda p: f"{p[0]}.replace('', {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"{p[0]}.join([{p[1]}, {p[1]}, {p[1]}])"),
        inner.map(lambda a: f"{a}.join(items)"),
        st.tuples(inner, counts).map(lambda p: f"('%(k)' ~ {p[1]} ~ 's') % {{'k': {p[0]}}}"),
        st.tuples(inner, counts).map(lambda p: f"'{{0:>{{1}}}}'.format({p[0]}, {p[1]})"),
        st.tuples(inner, counts).map(lambda p: f"{p[0]}|center({p[1]})"),
        inner.map(lambda a: f"{a}|upper|replace('X', {a})"),
    )


expressions = st.recursive(st.sampled_from(ATOMS), _grow, max_leaves=6)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(expression=expressions)
def test_any_generated_template_stays_within_the_memory_budget(expression, variables):
    source = "{{ " + expression + " }}"

    grew, outcome = growth(source, variables)

    assert grew <= budget(), f"{source} grew {grew / MIB:.1f} MiB"
    assert outcome.outputs or outcome.message, outcome


def test_a_template_past_the_wall_time_is_killed(variables):
    # One loop line at a time: templates.py's own 2 s check would stop it, the parent's
    # kill comes first.
    busy = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"

    outcome = run_in_child({"message": busy}, variables, budget_bytes=budget(), timeout=0.5)

    assert outcome.killed
    assert outcome.code == TEMPLATE_TIMEOUT
    assert outcome.message == "the templates took longer than 0.5 s"


def test_the_child_renders_every_field_and_reports_ordinary_errors(variables):
    ok = run_in_child(
        {"message": "{{ k }}!", "recipient": "{{ event_type|upper }}"},
        variables,
        budget_bytes=budget(),
        timeout=30.0,
    )
    undefined = run_in_child(
        {"message": "{{ nope }}"}, variables, budget_bytes=budget(), timeout=30.0
    )

    assert ok.outputs == {"message": "v!", "recipient": "X"}
    assert (undefined.code, undefined.message) == (None, "template variable 'nope' is undefined")


def in_process_growth(source: str, variables: dict, cap: int) -> tuple[int, str]:
    """How much rendering `source` with templates.render alone (as main did, in the
    worker's own process) grows a process, measured in a forked child whose address space
    may grow by `cap` at most (so a runaway render cannot hurt the machine)."""

    def child(render_source: str) -> None:
        with open("/proc/self/statm", "rb") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (size + cap, size + cap))
        try:
            templates.render(render_source, variables)
        except templates.RenderError as exc:
            os.write(write_end, str(exc).encode()[:200])

    peaks = []
    errors = []
    for render_source in (TRIVIAL, source):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read_end)
                child(render_source)
            finally:
                os._exit(0)
        os.close(write_end)
        try:
            errors.append(os.read(read_end, 200).decode())
        finally:
            os.close(read_end)
            _, _, usage = os.wait4(pid, 0)
        peaks.append(usage.ru_maxrss * 1024)
    return peaks[1] - peaks[0], errors[1]


def test_the_size_checks_alone_let_a_template_grow_past_the_budget():
    """Why the child exists: with a payload string of only 32 KiB, the forms above still
    grow the process by hundreds of MiB before templates.py's checks refuse the result
    (linear in the payload: a 1 MiB string asks for ~10 GiB in one C call)."""
    small = template_variables({"s": "x" * 32 * 1024, "k": "v", "n": 10**12}, "x")

    grew, error = in_process_growth(HOSTILE["repeat then join"], small, cap=1024 * MIB)

    print(f"\n[template-memory] in-process render grew {grew / MIB:.1f} MiB: {error}")
    assert grew > budget()
    assert error  # refused, but only once the memory was spent
