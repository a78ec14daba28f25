"""Cleaned text -> calibrated probabilities per risk, and the evidence behind them: the
featurizer (features, ngrams, hashing), the scorers (fast, transformer, onnx, ensemble), their
calibration, evidence words, and the compute settings (threads, device, padding) they share."""
