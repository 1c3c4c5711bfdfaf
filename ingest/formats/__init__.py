"""One module per file format; `ingest/registry.py` maps extensions and sniffed content to them."""
