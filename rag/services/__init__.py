"""Services: ingest, retrieve, answer, evaluate. Faces call these in-process."""
