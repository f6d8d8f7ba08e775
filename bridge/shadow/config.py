"""Shadow settings (`BRIDGE_SHADOW__...`, docs/shadowing.md): runner, store, readiness, replay."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ShadowSettings(BaseModel):
    """How the shadow runner, the diff store, the readiness verdict and the recorder behave."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str | None = None
    """The shadow store: where writes shadowed to `local` are served. Unset: never shadowed."""
    diffs_database_url: str | None = None
    """Where comparisons, samples and id pairs are kept. Unset: the bridge's own store."""
    queue_size: int = Field(default=1000, gt=0)
    workers: int = Field(default=4, gt=0)
    timeout_seconds: float = Field(default=5.0, gt=0)
    shed_cpu_share: float = Field(default=0.0, ge=0, le=1)
    """Shadows are shed while the process used at least this share of one CPU (the shadow
    yields to the primary). 0: never shed (docs/shadowing.md says why it is not the default)."""
    load_window_seconds: float = Field(default=0.1, gt=0)
    """The window that share is measured over."""
    drain_seconds: float = Field(default=2.0, ge=0)
    """On shutdown, queued shadows get this long to finish; the rest are dropped and counted."""
    calibration_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of shadowed reads also sent a second time to the primary target (noise)."""
    samples_per_field: int = Field(default=5, gt=0)
    retention_days: int = Field(default=14, gt=0)
    reap_seconds: float = Field(default=3600.0, gt=0)
    ready_min_comparisons: int = Field(default=500, gt=0)
    ready_match_rate: float = Field(default=0.99, ge=0, le=1)
    ready_window_hours: int = Field(default=24, gt=0)
    record_file: Path | None = None
    """Opt-in recorder: sampled, redacted legacy requests appended here as JSON lines."""
    record_rate: float = Field(default=0.0, ge=0, le=1)
