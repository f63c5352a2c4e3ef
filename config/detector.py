"""`detector:` the Detector deployment: model, thresholds, batching and resources."""

from __future__ import annotations

from pydantic import Field, field_validator

from matakota.config.base import StrictModel
from matakota.core.detections import DEFAULT_CLASSES

# Order of preference. A GPU build on a machine without CUDA silently falls back to CPU, so the provider
# in use is read back from the session, never assumed from this list (models/runtime.py).
PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


class DetectorConfig(StrictModel):
    """The Detector deployment: model, thresholds, batching and resources."""

    model: str = Field("yolox-nano", description="asset name (core/assets.toml) or a path to an ONNX file")
    score_threshold: float = Field(0.3, gt=0.0, lt=1.0, description="minimum obj × class score kept")
    iou_threshold: float = Field(0.45, gt=0.0, le=1.0, description="class-aware NMS IoU threshold")
    classes: tuple[int, ...] = Field(DEFAULT_CLASSES, min_length=1, description="COCO class ids to report")
    max_per_class: int = Field(100, ge=1, le=1000, description="detections kept per class and frame")
    providers: tuple[str, ...] = Field(PREFERRED_PROVIDERS, min_length=1,
                                       description="ONNX Runtime providers, preferred first")
    intra_op_threads: int = Field(0, ge=0, description="ONNX Runtime threads per inference (0: the Detector's cores "
                                                       "shared by its concurrent batches; one per core elsewhere)")
    intra_op_spinning: bool = Field(False, description="ORT threads busy-wait between runs (faster only on "
                                                       "cores nothing else needs)")
    max_batch_size: int = Field(16, ge=1, le=1024, description="most frames merged into one inference")
    batch_wait_timeout_s: float = Field(0.01, ge=0.0, le=1.0, description="how long a batch waits to fill")
    max_ongoing_requests: int = Field(64, ge=1, description="requests a replica accepts at once (≥ max_batch_size)")
    max_queued_requests: int = Field(256, ge=-1,
                                     description="requests queued in front of replicas before 503 (-1: no cap)")
    num_replicas: int = Field(1, ge=1, description="Detector replicas")
    num_cpus: float = Field(1.0, ge=0.0, description="CPUs reserved per replica")
    num_gpus: float = Field(0.0, ge=0.0, description="GPUs per replica (fractions share one GPU)")

    @field_validator("classes")
    @classmethod
    def _coco_ids(cls, classes: tuple[int, ...]) -> tuple[int, ...]:
        bad = [c for c in classes if not 0 <= c < 80]
        if bad:
            raise ValueError(f"COCO class ids are 0..79, got {bad}")
        return classes

    def batching(self) -> dict:
        """The Serve `user_config` that tunes batching at run time."""
        return {"max_batch_size": self.max_batch_size, "batch_wait_timeout_s": self.batch_wait_timeout_s}
