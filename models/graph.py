"""Graph surgery: YOLOX's exported ONNX (batch 1, float NCHW, raw grid outputs) → an end-to-end detector.

The prepared graph takes `frames` uint8 [B, 416, 416, 3] (letterboxed BGR, NHWC, as decoders produce them) and
returns only the kept detections, so transfers to and from a GPU stay small:
    selected int64 [K, 3] (frame, class slot, anchor), boxes float32 [K, 4] (x0, y0, x1, y1 in letterbox pixels),
    scores float32 [K].
Run-time inputs: `class_ids` int64 [C] (the classes to keep; `selected[:, 1]` indexes it), `score_threshold`,
`iou_threshold` float32 [1] and `max_per_class` int64 [1]. Decode follows the model README: xy = (raw + grid) ·
stride, wh = exp(raw) · stride, score = obj · cls; NMS is class-aware (ONNX NonMaxSuppression).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from matakota.models.frames import INPUT_SIZE

STRIDES = (8, 16, 32)
NUM_CLASSES = 80
PREPARE_VERSION = 1  # bump when the surgery changes, so cached prepared models are rebuilt


def anchor_grid(size: int = INPUT_SIZE, strides=STRIDES) -> tuple[np.ndarray, np.ndarray]:
    """Grid cell offsets [N, 2] and strides [N, 1] in the model's output order (x-major meshgrid per stride)."""
    grids, steps = [], []
    for stride in strides:
        cells = size // stride
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        grids.append(np.stack([xs, ys], axis=-1).reshape(-1, 2))
        steps.append(np.full((cells * cells, 1), stride))
    return np.concatenate(grids).astype(np.float32), np.concatenate(steps).astype(np.float32)


def make_batch_dynamic(model: onnx.ModelProto) -> None:
    """Batch dim → `batch`; the Reshape targets that hard-code batch 1 → 0 ("copy the input's dim")."""
    graph = model.graph
    for value in list(graph.input) + list(graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    del graph.value_info[:]  # stale batch-1 shapes; ONNX Runtime re-infers them
    initializers = {init.name: init for init in graph.initializer}
    for node in graph.node:
        if node.op_type != "Reshape" or node.input[1] not in initializers:
            continue
        shape = numpy_helper.to_array(initializers[node.input[1]]).copy()
        if len(shape) == 3 and shape[0] == 1:
            shape[0] = 0
            initializers[node.input[1]].CopyFrom(numpy_helper.from_array(shape, node.input[1]))


def _const(name: str, array: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array, name + "_value"))


def _slice(name: str, source: str, start: int, end: int) -> list[onnx.NodeProto]:
    consts = [_const(f"{name}_{k}", np.array([v], np.int64)) for k, v in (("s", start), ("e", end), ("a", 2))]
    return consts + [helper.make_node("Slice", [source, f"{name}_s", f"{name}_e", f"{name}_a"], [name])]


def fuse_pre_and_post(model: onnx.ModelProto) -> None:
    """Wrap the dynamic-batch model with uint8 NHWC input, grid decode and class-aware NMS."""
    graph = model.graph
    raw_input, raw_output = graph.input[0].name, graph.output[0].name
    for node in graph.node:  # the old input becomes an internal tensor fed by our pre-processing
        for i, name in enumerate(node.input):
            if name == raw_input:
                node.input[i] = "images_nchw"
    del graph.input[:]
    del graph.output[:]
    grid, stride = anchor_grid()
    pre = [
        helper.make_node("Cast", ["frames"], ["frames_f"], to=TensorProto.FLOAT),
        helper.make_node("Transpose", ["frames_f"], ["images_nchw"], perm=[0, 3, 1, 2]),
    ]
    post = [
        _const("grid", grid[None]), _const("stride", stride[None]), _const("half", np.array(0.5, np.float32)),
        *_slice("raw_xy", raw_output, 0, 2), *_slice("raw_wh", raw_output, 2, 4),
        *_slice("obj", raw_output, 4, 5), *_slice("cls", raw_output, 5, 5 + NUM_CLASSES),
        helper.make_node("Add", ["raw_xy", "grid"], ["xy_g"]),
        helper.make_node("Mul", ["xy_g", "stride"], ["xy"]),
        helper.make_node("Exp", ["raw_wh"], ["wh_e"]),
        helper.make_node("Mul", ["wh_e", "stride"], ["wh"]),
        helper.make_node("Mul", ["wh", "half"], ["half_wh"]),
        helper.make_node("Sub", ["xy", "half_wh"], ["p0"]),
        helper.make_node("Add", ["xy", "half_wh"], ["p1"]),
        helper.make_node("Concat", ["p0", "p1"], ["all_boxes"], axis=2),
        helper.make_node("Mul", ["obj", "cls"], ["all_scores"]),
        helper.make_node("Transpose", ["all_scores"], ["scores_by_class"], perm=[0, 2, 1]),
        helper.make_node("Gather", ["scores_by_class", "class_ids"], ["class_scores"], axis=1),
        helper.make_node(
            "NonMaxSuppression",
            ["all_boxes", "class_scores", "max_per_class", "iou_threshold", "score_threshold"],
            ["selected"],
        ),
        _const("frame_anchor_cols", np.array([0, 2], np.int64)),
        helper.make_node("Gather", ["selected", "frame_anchor_cols"], ["frame_anchor"], axis=1),
        helper.make_node("GatherND", ["all_boxes", "frame_anchor"], ["boxes"]),
        helper.make_node("GatherND", ["class_scores", "selected"], ["scores"]),
    ]
    nodes = pre + list(graph.node) + post
    del graph.node[:]
    graph.node.extend(nodes)
    graph.input.extend([
        helper.make_tensor_value_info("frames", TensorProto.UINT8, ["batch", INPUT_SIZE, INPUT_SIZE, 3]),
        helper.make_tensor_value_info("class_ids", TensorProto.INT64, ["classes"]),
        helper.make_tensor_value_info("max_per_class", TensorProto.INT64, [1]),
        helper.make_tensor_value_info("iou_threshold", TensorProto.FLOAT, [1]),
        helper.make_tensor_value_info("score_threshold", TensorProto.FLOAT, [1]),
    ])
    graph.output.extend([
        helper.make_tensor_value_info("selected", TensorProto.INT64, ["detections", 3]),
        helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["detections", 4]),
        helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["detections"]),
    ])


def prepare_model(source: Path, destination: Path) -> Path:
    """Write the end-to-end detector for `source` to `destination` (atomically) and return it."""
    model = onnx.load(str(source))
    make_batch_dynamic(model)
    fuse_pre_and_post(model)
    onnx.checker.check_model(model)
    partial = destination.with_name(destination.name + ".partial")
    destination.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(partial))
    partial.replace(destination)
    return destination
