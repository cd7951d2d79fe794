"""The data flywheel: labels and feedback → a new dataset version → retrain → the gate."""
