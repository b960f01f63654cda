"""The zk budget: how large a circuit may get before a model is served optimistically instead.

A circuit's cost follows its row count 2**logrows. The per-row constants are measured (ezkl
23.0.5, 2 inner columns, 2 CPU cores; ../shared/notes): the proving key is 4.2 KB per row at
every size measured (k = 10..15), proving took 0.15–0.77 ms per row (the estimate uses the
slowest, a transformer block at k = 18) and peak memory up to 43 KB per row. Estimates, not
promises: the card records both the numbers and the limits they were compared with.

Usage::

    size = CircuitSize.of(logrows=17)
    over = size.over(Budget.from_settings(get_settings()))   # ["logrows 17 > 16", …] or []
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from verinfer.settings import Settings

PK_BYTES_PER_ROW = 4224
PROVE_S_PER_ROW = 7.7e-4
MEMORY_BYTES_PER_ROW = 43_000


@dataclass(frozen=True)
class Budget:
    """Largest circuit auto mode proves with zk (VERINFER_ZK_MAX_* settings)."""

    max_logrows: int
    max_pk_bytes: int
    max_prove_s: float
    max_memory_bytes: int

    @classmethod
    def from_settings(cls, s: Settings) -> Budget:
        return cls(s.zk_max_logrows, s.zk_max_pk_bytes, s.zk_max_prove_s, s.zk_max_memory_bytes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CircuitSize:
    """A circuit's rows and the costs estimated from them."""

    logrows: int
    num_rows: int
    pk_bytes_estimate: int
    prove_s_estimate: float
    memory_bytes_estimate: int

    @classmethod
    def of(cls, logrows: int, num_rows: int = 0) -> CircuitSize:
        rows = 1 << logrows
        return cls(
            logrows,
            num_rows,
            rows * PK_BYTES_PER_ROW,
            round(rows * PROVE_S_PER_ROW, 2),
            rows * MEMORY_BYTES_PER_ROW,
        )

    def over(self, b: Budget) -> list[str]:
        """Every limit this circuit exceeds, with both numbers; empty when it fits."""
        out = []
        if self.logrows > b.max_logrows:
            out.append(f"logrows {self.logrows} > {b.max_logrows}")
        if self.pk_bytes_estimate > b.max_pk_bytes:
            out.append(f"proving key ~{_mb(self.pk_bytes_estimate)} > {_mb(b.max_pk_bytes)}")
        if self.prove_s_estimate > b.max_prove_s:
            out.append(f"proving ~{self.prove_s_estimate:g} s > {b.max_prove_s:g} s")
        if self.memory_bytes_estimate > b.max_memory_bytes:
            out.append(
                f"peak memory ~{_mb(self.memory_bytes_estimate)} > {_mb(b.max_memory_bytes)}"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"
