"""Provenance detectors: where a model came from, who signed it, and who approved it.

- :mod:`.mlflow_lineage` (``mlflow-lineage``): a registered model version's source run and the
  datasets it logged, against the pipeline's data;
- :mod:`.model_signature` (``model-signature``): a model file or folder against its OpenSSF
  model-signing signature;
- :mod:`.registry_approval` (``registry-approval``): a deployed model version carries a passing
  riskframe assessment for its exact version, file and training data (written by
  ``riskframe mlflow tag``, see :mod:`.approval`).

MLflow (the ``mlflow`` extra) and model-signing (the ``model-signing`` extra) are imported inside
the runs, never when this package is imported.
"""
