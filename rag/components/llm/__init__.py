"""Cheapest-adequate LLM answering: provider routing, grounded prompts, citation checks, cost ledger."""
