"""One trainer per model type, dispatched on `model.type` (dispatch): fast, transformer,
ensemble, the subtype head, calibration studies and the cascade band."""
