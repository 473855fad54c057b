"""Handover events from the differences of serving groups between epochs.

One tracker per run follows every ground entity (target or terminal). At each
epoch it compares the entity's new serving group with the previous one and
emits rows for the `handovers` table:

- ``central``: the central (serving) satellite changed. Reason ``"better"``
  when the old one was still above the mask (a higher one won by more than the
  hysteresis), ``"lost"`` when the old one fell below the mask or was invalid.
- ``group``: group membership changed (reason lists who joined and who left).
- ``interruption``: the entity has no valid group this epoch (reason from the
  topology) — recorded, not skipped; ``restored`` when it has one again.

The tracker's state is plain JSON so it can be checkpointed and resumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class HandoverTracker:
    """Previous serving group per entity: name -> {"central", "members", "valid"}."""

    previous: dict[str, dict] = field(default_factory=dict)

    def update(
        self,
        *,
        epoch: int,
        time,
        entity: str,
        central: int,
        members: tuple[int, ...],
        valid: bool,
        reason: str,
        sat_names,
        previous_central_visible: bool,
    ) -> list[dict]:
        """Rows for the handovers table caused by this entity's new group.

        `central` and `members` are satellite indices (-1 / () when none);
        `sat_names` maps an index to a satellite name; `previous_central_visible`
        says whether the previous central satellite is still above the mask.
        """
        rows: list[dict] = []
        old = self.previous.get(entity)

        def row(kind: str, old_value: str, new_value: str, why: str) -> dict:
            return {
                "epoch": epoch,
                "time": time,
                "entity": entity,
                "kind": kind,
                "from_sat": old_value,
                "to_sat": new_value,
                "reason": why,
            }

        def name(index: int) -> str:
            return "" if index < 0 else str(sat_names[index])

        if old is not None:
            if central != old["central"]:
                why = "better" if (previous_central_visible and old["central"] >= 0) else "lost"
                rows.append(row("central", name(old["central"]), name(central), why))
            old_members, new_members = set(old["members"]), set(members)
            if old_members != new_members:
                joined = sorted(name(i) for i in new_members - old_members)
                left = sorted(name(i) for i in old_members - new_members)
                rows.append(
                    row(
                        "group",
                        ";".join(left),
                        ";".join(joined),
                        f"{len(joined)} joined, {len(left)} left",
                    )
                )
            if old["valid"] and not valid:
                rows.append(row("interruption", name(old["central"]), name(central), reason))
            elif not old["valid"] and valid:
                rows.append(
                    row("restored", name(old["central"]), name(central), "valid group again")
                )
        elif not valid:
            rows.append(row("interruption", "", name(central), reason))
        self.previous[entity] = {
            "central": int(central),
            "members": [int(m) for m in members],
            "valid": bool(valid),
        }
        return rows

    def central_of(self, entity: str) -> int:
        """The previous central satellite index of `entity` (-1 if none yet)."""
        old = self.previous.get(entity)
        return -1 if old is None else int(old["central"])

    def state(self) -> dict:
        return {name: dict(value) for name, value in self.previous.items()}

    @classmethod
    def from_state(cls, state: dict) -> HandoverTracker:
        return cls(previous={name: dict(value) for name, value in state.items()})
