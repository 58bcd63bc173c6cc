"""Three-way merge of a catalogue layer: pure functions, no database.

A layer (a tenant's catalogue, or a province's overlay) keeps, per service:

- ``base``: the upstream value of every synced field at the last sync;
- ``overrides``: the fields its admin changed, with their values;
- ``conflicts``: fields changed on both sides since, awaiting the admin's decision.

Merging a new upstream version field by field:

====================  ==========================  ==========================================
local override?       upstream changed?           result
====================  ==========================  ==========================================
no                    yes                         **applied**: the field follows upstream
no                    no                          unchanged
yes, equal upstream   —                           **converged**: no conflict; stays local
yes                   no                          **kept**: the local value stays
yes                   yes, to something else      **conflict**: local value kept and flagged
====================  ==========================  ==========================================

The local value is never lost: it stays effective until the admin reverts it or takes
upstream. Setting a field to the value upstream has at that moment is not an override: the
field simply goes on following upstream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FieldAction = Literal["applied", "kept", "conflict", "converged"]


@dataclass(frozen=True)
class FieldChange:
    """What a sync does to one field of one service."""

    field: str
    action: FieldAction
    base: Any
    upstream: Any
    local: Any = None


@dataclass
class MergeResult:
    """A service's layer state after merging a new upstream version."""

    base: dict[str, Any]
    overrides: dict[str, Any]
    conflicts: dict[str, dict[str, Any]]
    changes: list[FieldChange] = field(default_factory=list)

    def effective(self) -> dict[str, Any]:
        """The values the layer shows: upstream, with the overrides on top."""
        return self.base | self.overrides


def merge_service(
    base: Mapping[str, Any],
    upstream: Mapping[str, Any],
    overrides: Mapping[str, Any],
    conflicts: Mapping[str, Mapping[str, Any]],
    fields: Iterable[str],
) -> MergeResult:
    """Merge ``upstream`` into a layer whose last synced upstream was ``base``."""
    new_overrides = dict(overrides)
    new_conflicts = {k: dict(v) for k, v in conflicts.items()}
    changes: list[FieldChange] = []
    for name in fields:
        old, new = base.get(name), upstream.get(name)
        if name not in overrides:
            new_conflicts.pop(name, None)
            if new != old:
                changes.append(FieldChange(name, "applied", old, new))
            continue
        local = overrides[name]
        if local == new:
            # Both sides arrived at the same value: nothing to decide now, but the local value
            # stays the admin's, so a later upstream change is flagged rather than applied.
            new_conflicts.pop(name, None)
            if new != old:
                changes.append(FieldChange(name, "converged", old, new, local))
        elif new == old:
            changes.append(FieldChange(name, "kept", old, new, local))
        else:
            original_base = new_conflicts.get(name, {}).get("base", old)
            new_conflicts[name] = {"base": original_base, "upstream": new, "local": local}
            changes.append(FieldChange(name, "conflict", old, new, local))
    new_base = {name: upstream.get(name) for name in fields}
    return MergeResult(new_base, new_overrides, new_conflicts, changes)


def set_override(
    base: Mapping[str, Any],
    overrides: Mapping[str, Any],
    conflicts: Mapping[str, Mapping[str, Any]],
    name: str,
    value: Any,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Overrides and conflicts after the admin sets ``name`` to ``value``.

    A value equal to upstream's is no override: the field follows upstream again, and a
    conflict on it is settled.
    """
    new_overrides = dict(overrides)
    new_conflicts = {k: dict(v) for k, v in conflicts.items()}
    if base.get(name) == value:
        new_overrides.pop(name, None)
        new_conflicts.pop(name, None)
    else:
        new_overrides[name] = value
    return new_overrides, new_conflicts


def diff_values(old: Mapping[str, Any], new: Mapping[str, Any], fields: Iterable[str]) -> list[str]:
    """The fields whose values differ between two versions of a service."""
    return [name for name in fields if old.get(name) != new.get(name)]
