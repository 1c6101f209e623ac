"""Detectors of a model's behaviour under attack: evasion robustness (ART) and activation analysis (Captum)."""
