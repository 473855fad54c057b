"""Re-planning policy shared by the ISAC and PNT processes, and the held plans' state.

A process keeps, per entity, the plan it made last (beams, the satellites that carry them and
the directions of those satellites seen from the entity when planned). At every epoch
:func:`decide` says whether to re-plan, and why, following ``[replan]`` of the scenario
(``docs/twin.md``):

* ``every_epoch``: always (reason ``"every_epoch"``);
* ``every_n``: when the plan is ``every_n`` epochs old (``"every_n"``);
* ``on_event``: when one of the enabled events happened since the plan: ``"handover"``
  (central / reference satellite changed), ``"group_change"`` (serving group / visible set
  changed) or ``"drift"`` (a planned satellite's direction turned by more than the threshold).

Whatever the policy, a plan is replaced when there is none (``"initial"``), when one of its
satellites can no longer serve (``"forced"``) or when it is older than ``max_age``
(``"max_age"``). Held plans are part of the checkpoint: :func:`encode_array` /
:func:`decode_array` turn arrays into exact JSON text (base64 of ``numpy.save`` bytes).
"""

from __future__ import annotations

import base64
import io

import numpy as np

__all__ = ["decide", "direction_drift_rad", "encode_array", "decode_array", "unit_directions"]


def unit_directions(origin, sat_pos) -> np.ndarray:
    """Unit vectors (S, 3) from an Earth-fixed point ``origin`` (3,) m to ``sat_pos`` (S, 3) m."""
    d = np.asarray(sat_pos, dtype=float) - np.asarray(origin, dtype=float)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def direction_drift_rad(planned_dirs, current_dirs) -> float:
    """Largest angle (rad) between matching rows of two (S, 3) unit-vector arrays (0 if S = 0)."""
    a, b = np.asarray(planned_dirs, dtype=float), np.asarray(current_dirs, dtype=float)
    if a.size == 0:
        return 0.0
    cos = np.clip(np.sum(a * b, axis=-1), -1.0, 1.0)
    return float(np.max(np.arccos(cos)))


def decide(
    config,
    *,
    epoch: int,
    plan_epoch: int | None,
    forced: bool,
    handover: bool,
    group_change: bool,
    drift_rad: float,
) -> tuple[bool, str]:
    """(re-plan?, reason) at ``epoch`` for a plan made at ``plan_epoch`` (None: no plan).

    config: the scenario's ``ReplanConfig``; forced: a planned satellite can no longer serve;
    handover / group_change: those events happened since the previous epoch (or the plan);
    drift_rad: the largest direction change of a planned satellite since the plan (rad).
    Reasons: "initial", "forced", "max_age", "every_epoch", "every_n", "handover",
    "group_change", "drift", or "" when the plan is held.
    """
    if plan_epoch is None:
        return True, "initial"
    if forced:
        return True, "forced"
    age = epoch - plan_epoch
    if config.max_age and age >= config.max_age:
        return True, "max_age"
    if config.policy == "every_epoch":
        return True, "every_epoch"
    if config.policy == "every_n":
        return (True, "every_n") if age >= config.every_n else (False, "")
    events = set(config.on)
    if "handover" in events and handover:
        return True, "handover"
    if "group_change" in events and group_change:
        return True, "group_change"
    if "drift" in events and drift_rad > config.drift_rad:
        return True, "drift"
    return False, ""


def encode_array(array) -> str | None:
    """Exact JSON-able text of an array (base64 of its ``.npy`` bytes); None stays None."""
    if array is None:
        return None
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_array(text: str | None):
    """Inverse of :func:`encode_array`."""
    if text is None:
        return None
    return np.load(io.BytesIO(base64.b64decode(text.encode("ascii"))), allow_pickle=False)
