"""Remediation: act on an assessment's findings.

``riskframe remediate ASSESSMENT --out DIR`` (:func:`riskframe.remediation.remediate.remediate`)
collects the samples that sample-level results flagged (:mod:`.flags`), checks that each dataset
is still the file that was assessed and writes it without them (:mod:`.datasets`), records every
quarantined sample and why (:mod:`.manifest`), and writes a copy of the pipeline that points at
the filtered data (:mod:`.pipeline_copy`), ready to be assessed again.
"""
