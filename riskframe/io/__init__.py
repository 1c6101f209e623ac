"""Files and the terminal: streaming digests (:mod:`.digests`), atomic and reproducible writes
(:mod:`.files`), how paths are shown (:mod:`.paths`), the bundled data (:mod:`.resources`), and
text made safe to print (:mod:`.terminal`)."""
