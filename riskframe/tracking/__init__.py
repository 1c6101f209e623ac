"""Experiment tracking: an assessment logged to MLflow as one run (:mod:`.mlflow_log`)."""
