"""The three-way merge: each case by example, then random edit sequences on both sides."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from catalog.merge import merge_service, set_override

FIELDS = ("fee", "note", "days")


def test_each_case() -> None:
    base = {"fee": 1, "note": "a", "days": 3}
    upstream = {"fee": 2, "note": "a", "days": 4}
    overrides = {"note": "local", "days": 5, "fee": 2}
    result = merge_service(base, upstream, overrides, {}, FIELDS)
    actions = {c.field: c.action for c in result.changes}
    assert actions == {"fee": "converged", "note": "kept", "days": "conflict"}
    assert result.overrides == {"fee": 2, "note": "local", "days": 5}
    assert result.conflicts == {"days": {"base": 3, "upstream": 4, "local": 5}}
    assert result.effective() == {"fee": 2, "note": "local", "days": 5}
    assert result.base == upstream


def test_a_conflict_remembers_the_base_it_started_from() -> None:
    first = merge_service({"fee": 1}, {"fee": 2}, {"fee": 9}, {}, ["fee"])
    second = merge_service(first.base, {"fee": 3}, first.overrides, first.conflicts, ["fee"])
    assert second.conflicts == {"fee": {"base": 1, "upstream": 3, "local": 9}}
    reverted_upstream = merge_service(
        second.base, {"fee": 9}, second.overrides, second.conflicts, ["fee"]
    )
    assert reverted_upstream.conflicts == {} and reverted_upstream.overrides == {"fee": 9}
    # Upstream moving away again is a conflict, not a silent change of the local value.
    away = merge_service(
        reverted_upstream.base, {"fee": 1}, reverted_upstream.overrides, {}, ["fee"]
    )
    assert away.effective() == {"fee": 9} and away.conflicts["fee"]["upstream"] == 1


def test_setting_the_upstream_value_is_not_an_override() -> None:
    conflict = {"fee": {"base": 0, "upstream": 1, "local": 5}}
    assert set_override({"fee": 1}, {"fee": 5}, conflict, "fee", 1) == ({}, {})
    assert set_override({"fee": 1}, {}, {}, "fee", 2) == ({"fee": 2}, {})
    # Setting another value while a conflict is open leaves it for the admin to settle.
    assert set_override({"fee": 1}, {"fee": 5}, conflict, "fee", 7) == ({"fee": 7}, conflict)


values = st.integers(min_value=0, max_value=3)
operation = st.one_of(
    st.tuples(st.just("upstream"), st.sampled_from(FIELDS), values),
    st.tuples(st.just("local"), st.sampled_from(FIELDS), values),
    st.tuples(st.just("revert"), st.sampled_from(FIELDS), st.none()),
    st.tuples(st.just("take"), st.sampled_from(FIELDS), st.none()),
    st.tuples(st.just("keep"), st.sampled_from(FIELDS), st.none()),
    st.tuples(st.just("sync"), st.none(), st.none()),
)


class Layer:
    """A tenant's catalogue for one service, driven the way the local actions drive it."""

    def __init__(self, upstream: dict[str, Any]) -> None:
        self.base = dict(upstream)
        self.overrides: dict[str, Any] = {}
        self.conflicts: dict[str, dict[str, Any]] = {}
        self.effective = dict(upstream)

    def sync(self, upstream: dict[str, Any]) -> list[str]:
        result = merge_service(self.base, upstream, self.overrides, self.conflicts, FIELDS)
        self.base, self.overrides, self.conflicts = result.base, result.overrides, result.conflicts
        self.effective = result.effective()
        return [c.action for c in result.changes]

    def set_local(self, name: str, value: Any) -> None:
        self.overrides, self.conflicts = set_override(
            self.base, self.overrides, self.conflicts, name, value
        )
        self.effective[name] = value

    def revert(self, name: str) -> None:
        self.overrides.pop(name, None)
        self.conflicts.pop(name, None)
        self.effective[name] = self.base[name]

    def resolve(self, name: str, take_upstream: bool) -> None:
        if self.conflicts.pop(name, None) is not None and take_upstream:
            self.overrides.pop(name, None)
            self.effective[name] = self.base[name]


@settings(max_examples=400, deadline=None)
@given(st.lists(operation, max_size=40))
@example(
    [("upstream", "note", 1), ("local", "note", 1), ("sync", None, None),
     ("upstream", "note", 0), ("sync", None, None)]
)  # fmt: skip
def test_random_edits_never_lose_a_local_edit_and_converge(ops: list[tuple]) -> None:
    upstream = {"fee": 0, "note": 0, "days": 0}
    layer = Layer(upstream)
    last_local: dict[str, Any] = {}  # the admin's latest word on a field, while it stands
    for kind, name, value in ops:
        if kind == "upstream":
            upstream = upstream | {name: value}
        elif kind == "local":
            layer.set_local(name, value)
            if value == layer.base[name]:
                # Setting upstream's own value is documented as "follow upstream", not an edit.
                last_local.pop(name, None)
            else:
                last_local[name] = value
        elif kind == "revert":
            layer.revert(name)
            last_local.pop(name, None)
        elif kind == "take":
            if name in layer.conflicts:
                last_local.pop(name, None)
            layer.resolve(name, take_upstream=True)
        elif kind == "keep":
            layer.resolve(name, take_upstream=False)
        else:
            layer.sync(upstream)
            assert layer.base == upstream
            # Idempotent: a second sync to the same upstream changes nothing.
            before = (dict(layer.base), dict(layer.overrides), dict(layer.conflicts))
            assert set(layer.sync(upstream)) <= {"kept"}
            assert (layer.base, layer.overrides, layer.conflicts) == before
        # No local edit is ever lost: the effective value is the admin's last word on every
        # field they edited and did not give up; every other field follows upstream.
        for field in FIELDS:
            if field in last_local:
                assert layer.effective[field] == last_local[field]
            else:
                assert layer.effective[field] == layer.base[field]
        assert set(layer.conflicts) <= set(layer.overrides)
        assert layer.effective == layer.base | layer.overrides

    # Convergence: once the admin gives up every local edit, the layer equals upstream.
    layer.sync(upstream)
    for field in FIELDS:
        layer.resolve(field, take_upstream=True)
        layer.revert(field)
    assert layer.effective == upstream and not layer.overrides and not layer.conflicts
