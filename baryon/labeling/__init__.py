"""Labeling: queues of items waiting for a label, annotation and consensus."""
