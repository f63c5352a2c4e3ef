"""YOLOX-Nano as a batched detector: letterbox in, `Detections` in source pixels out.

The heavy lifting (uint8 → float, grid decode, class-aware NMS) runs inside the prepared ONNX graph
(`graph.py`); this module only letterboxes, feeds thresholds, and maps boxes back to each source image.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from matakota.config import PREFERRED_PROVIDERS, DetectorConfig
from matakota.core import assets
from matakota.core.detections import DEFAULT_CLASSES, Detections
from matakota.models.frames import FrameBatch
from matakota.models.graph import PREPARE_VERSION, prepare_model
from matakota.models.runtime import create_session, provider_in_use


def resolve_model(model: str) -> Path:
    """A model given as a path is used as is; otherwise it names an asset, fetched (or found) by digest."""
    path = Path(model)
    return path if path.suffix == ".onnx" and path.is_file() else assets.fetch(model)


def prepared_model_path(source: Path, cache_dir: Path) -> Path:
    """The end-to-end model for `source`, built once and cached next to it (keyed by the surgery version)."""
    target = cache_dir / f"{source.stem}.e2e-v{PREPARE_VERSION}.onnx"
    if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
        prepare_model(source, target)
    return target


class YoloxDetector:
    """Batched YOLOX inference on the best available ONNX Runtime provider."""

    def __init__(
        self,
        model_path: Path,
        *,
        score_threshold: float = 0.3,
        iou_threshold: float = 0.45,
        classes: Sequence[int] = DEFAULT_CLASSES,
        max_per_class: int = 100,
        providers: Sequence[str] = PREFERRED_PROVIDERS,
        intra_op_threads: int = 0,
        spinning: bool = False,
        cache_dir: Path | None = None,
    ) -> None:
        model_path = Path(model_path)
        cache_dir = Path(cache_dir or model_path.parent)
        self.model_name = model_path.stem
        self.session = create_session(
            prepared_model_path(model_path, cache_dir), tuple(providers), intra_op_threads, cache_dir, spinning
        )
        self.provider = provider_in_use(self.session)
        self.classes = np.array(sorted(set(classes)), np.int64)
        self._fixed_inputs = {
            "class_ids": self.classes,
            "max_per_class": np.array([max_per_class], np.int64),
            "iou_threshold": np.array([iou_threshold], np.float32),
            "score_threshold": np.array([score_threshold], np.float32),
        }

    @classmethod
    def from_config(cls, config: DetectorConfig) -> YoloxDetector:
        """The detector a `detector:` config section describes (the Detector deployment, `detect`, `analyze`)."""
        return cls(resolve_model(config.model), score_threshold=config.score_threshold,
                   iou_threshold=config.iou_threshold, classes=config.classes, max_per_class=config.max_per_class,
                   providers=config.providers, intra_op_threads=config.intra_op_threads,
                   spinning=config.intra_op_spinning)

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detections for each BGR image, boxes in that image's pixels."""
        return self.detect_batch(FrameBatch.from_images(images))

    def detect_batch(self, batch: FrameBatch) -> list[Detections]:
        if len(batch) == 0:
            return []
        selected, boxes, scores = self.session.run(None, {"frames": batch.frames, **self._fixed_inputs})
        return split_by_frame(batch, selected, boxes, scores, self.classes)


def split_by_frame(
    batch: FrameBatch, selected: np.ndarray, boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray
) -> list[Detections]:
    """Map the graph's flat detections back to each frame: undo the letterbox, clip to the image."""
    frame_of = selected[:, 0]
    results = []
    for i in range(len(batch)):
        rows = frame_of == i
        height, width = batch.sizes[i]
        xyxy = boxes[rows] / batch.ratios[i]
        np.clip(xyxy, 0, [width, height, width, height], out=xyxy)
        order = np.argsort(-scores[rows], kind="stable")
        results.append(Detections(xyxy[order], scores[rows][order], classes[selected[rows, 1]][order]))
    return results
