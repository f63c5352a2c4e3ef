"""A plain single-frame implementation of the model README's contract, to check the fused graph against.

Float NCHW input on the unmodified batch-1 file, grid decode and per-class NMS in numpy.
"""

from __future__ import annotations

import cv2
import numpy as np
import onnxruntime as ort

from matakota.models.graph import anchor_grid


def letterbox(image, size=416):
    ratio = min(size / image.shape[0], size / image.shape[1])
    resized = cv2.resize(image, (int(image.shape[1] * ratio), int(image.shape[0] * ratio)), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((size, size, 3), 114, np.uint8)
    canvas[: resized.shape[0], : resized.shape[1]] = resized
    return canvas, ratio


def nms(boxes, scores, iou_threshold):
    order, keep = np.argsort(-scores), []
    while len(order):
        best, rest = order[0], order[1:]
        keep.append(best)
        x0 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y0 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x1 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y1 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
        iou = inter / (area(boxes[best]) + area(boxes[rest]) - inter)
        order = rest[iou <= iou_threshold]
    return keep


class ReferenceYolox:
    def __init__(self, model_path):
        self.session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
        self.grid, self.stride = anchor_grid()

    def detect(self, image, score_threshold=0.3, iou_threshold=0.45, classes=(0, 1, 2, 3, 5, 7)):
        """[(class_id, score, [x0, y0, x1, y1])] sorted by score, boxes in the source image's pixels."""
        canvas, ratio = letterbox(image)
        blob = canvas.transpose(2, 0, 1)[None].astype(np.float32)
        raw = self.session.run(None, {"images": blob})[0][0]
        xy = (raw[:, :2] + self.grid) * self.stride
        wh = np.exp(raw[:, 2:4]) * self.stride
        boxes = np.concatenate([xy - wh / 2, xy + wh / 2], axis=1) / ratio
        scores = raw[:, 4:5] * raw[:, 5:]
        found = []
        for class_id in classes:
            mask = scores[:, class_id] > score_threshold
            cls_boxes, cls_scores = boxes[mask], scores[mask, class_id]
            for k in nms(cls_boxes, cls_scores, iou_threshold):
                found.append((class_id, float(cls_scores[k]), cls_boxes[k]))
        height, width = image.shape[:2]
        return [
            (c, s, np.clip(b, 0, [width, height, width, height])) for c, s, b in sorted(found, key=lambda d: -d[1])
        ]
