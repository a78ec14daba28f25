"""Exports of a trained model: ONNX Runtime folders, fp32 or int8 (onnx)."""
