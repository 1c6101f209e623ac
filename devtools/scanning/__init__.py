"""The model-file scanner's corpora (:mod:`.corpus`, :mod:`.corpus_files`, :mod:`.hostile`), the
pickle assembler they are built with (:mod:`.asm`), and the allowlist generator (:mod:`.derive`)."""
