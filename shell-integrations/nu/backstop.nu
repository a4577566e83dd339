# backstop shell integration (being written). @BACKSTOP_BIN@ @BACKSTOP_PENDING@
