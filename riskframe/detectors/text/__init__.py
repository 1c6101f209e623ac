"""Detectors that read text corpora (``dataset_kind = "text"``, :mod:`riskframe.data.text`).

- ``pii-secrets`` (:mod:`.pii_secrets`): personal data and credentials, masked in the evidence;
- ``near-duplicates`` (:mod:`.near_duplicates`): exact and near-duplicate records (MinHash LSH);
- ``denylist-content`` (:mod:`.denylist`): documents and patterns an organisation forbids;
- ``text-backdoor`` (:mod:`.backdoor`): trigger phrases that fix a label.
"""
