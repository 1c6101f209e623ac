"""Backdoor detectors and what they share.

- representation screens: :mod:`.spectral_signatures` (``spectral-signatures``),
  :mod:`.activation_clustering` (``activation-clustering``) and ART's two defences
  (:mod:`.art_backdoor`), all built on the per-class analysis in :mod:`._analysis`;
- model probes: :mod:`.trigger_reverse` (``trigger-reverse-engineering``, Neural Cleanse in
  :mod:`.neural_cleanse` and :mod:`.screening`) and :mod:`.backdoor_removed` (``backdoor-removed``,
  retraining in :mod:`.retrain`);
- the small CNN they poison, probe and retrain (:mod:`.cnn`) and how models are read
  (:mod:`.models`).

torch (the ``torch`` extra) and ART (the ``art`` extra) are imported inside the runs; importing
this package imports nothing heavy.
"""
