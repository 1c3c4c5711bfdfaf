"""FastAPI routers: thin faces over the in-process services."""
