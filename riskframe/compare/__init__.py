"""Comparing assessments: what failed before and fails now, and how risk moved.

- :mod:`.fingerprints`: the evidence fingerprint that tells the same failure from a changed one;
- :mod:`.baseline`: ``--baseline``, the failures already known in an earlier assessment;
- :mod:`.diff`: ``riskframe diff``, everything that changed between two assessments;
- :mod:`.history`: ``riskframe history``, the risk score over time of a folder of assessments.
"""
