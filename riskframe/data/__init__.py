"""Reading artifacts' content: datasets and representations, validated before any detector runs."""

from riskframe.data.datasets import Dataset, load_dataset, load_representations

__all__ = ["Dataset", "load_dataset", "load_representations"]
