"""The columns of a report and a gate: each platform through one path (and guest profile), named
once from the saved records' facts, and each sample labelled with its column."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Column:
    """A platform through one path, as the saved records describe it. Its own path (its
    address, a volume, its virtual disk) is the platform's column; other paths (a published
    port, the overlay layer) get columns of their own."""

    platform: str
    profile: str  # a guest profile when a run compares several, else empty
    variant: str
    primary: bool
    emulated: bool
    rank: int

    @property
    def label(self) -> str:
        """How the column is named: platform (and guest profile), a secondary path if any,
        emulation loudly."""
        name = f"{self.platform} {self.profile}" if self.profile else self.platform
        label = name if self.primary else f"{name} ({self.variant})"
        return f"{label} [TCG emulation]" if self.emulated else label

    @property
    def order(self) -> tuple[int, bool, str]:
        return (self.rank, not self.primary, self.variant)


COLUMN_KEYS = ["platform", "profile", "variant", "primary", "emulated", "rank"]


def _distinct(df: pd.DataFrame) -> tuple[pd.DataFrame, list[Column]]:
    """The distinct column facts of the samples, and a Column for each."""
    combos = df[COLUMN_KEYS].drop_duplicates()
    found = [
        Column(str(p), str(pf), str(v), bool(pr), bool(e), int(r))
        for p, pf, v, pr, e, r in combos.itertuples(index=False)
    ]
    return combos, found


def columns_of(df: pd.DataFrame) -> dict[str, Column]:
    """Every column the samples have, by label."""
    return {c.label: c for c in _distinct(df)[1]}


def labelled(df: pd.DataFrame) -> pd.DataFrame:
    """Adds each sample's column label, rendered once per distinct column."""
    combos, found = _distinct(df)
    combos = combos.assign(label=[c.label for c in found])
    merged = df.merge(combos, on=COLUMN_KEYS, how="left")
    return merged.assign(label=merged.label.astype("category"))
