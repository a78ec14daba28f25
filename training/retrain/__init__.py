"""The review-and-retrain loop: train a challenger on reviewed samples (run) and the gate
that decides whether it replaces the current model (gate)."""
