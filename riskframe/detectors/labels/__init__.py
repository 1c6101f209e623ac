"""Label screens: :mod:`.label_issues` (``label-issues``, flipped labels beyond the data's own
noise) and :mod:`.class_outliers` (``class-outliers``, classes holding samples unlike any class).

They share the natural-noise model (:mod:`._natural`), the detection limit
(:mod:`._detection_limits`), the flip tests (:mod:`._flips`), out-of-fold probabilities
(:mod:`._oof`) and what a model vouches for (:mod:`.vouch`); :mod:`.flip_evidence` is the evidence
and pictures of flagged samples, which the backdoor screens report too.
"""
