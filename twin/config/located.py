"""``Located``: a validator error that names the exact field below the one it was raised in
(shared by :mod:`twin.config.schema` and :mod:`twin.config.areas`; the loader reads its items)."""

from __future__ import annotations

__all__ = ["Located"]


class Located(ValueError):
    """A validator error that points below the field (or model) it was raised in.

    ``items`` is a list of ``(sub_loc, reason)``; ``sub_loc`` is appended to the
    pydantic location of the error, so a check that needs several fields (or
    several list items) can still name the exact one that is wrong, and one
    check can report several problems at once.
    """

    def __init__(self, items: list[tuple[tuple, str]]):
        self.items = list(items)
        super().__init__("; ".join(reason for _, reason in self.items))
