"""The detector model: YOLOX-Nano ONNX graph surgery, ONNX Runtime sessions, the batched detector and its input
(`FrameBatch`). No Ray: the Detector deployment (serve/detector.py) and the offline tools run it."""
