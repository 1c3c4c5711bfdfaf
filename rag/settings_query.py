"""Settings of the query stages around retrieval (the `query_plan:` section): sub-queries, near-duplicate
collapse, recency (rag/services/query_plan.py)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SubquerySettings(BaseModel):
    enabled: bool = Field(True, description="split questions about several things and cover every part")
    max_parts: int = Field(4, ge=2, le=8, description="sub-queries at most (each is one more retrieval)")
    llm: bool = Field(False, description="ask the cheapest ready LLM to split what the rules leave whole")


class NearDupSettings(BaseModel):
    enabled: bool = Field(True, description="collapse copies of one story from several outlets into one hit")
    threshold: float = Field(0.4, gt=0, le=1, description="Jaccard of two chunks' clause sets that makes a copy")
    min_clause: int = Field(6, ge=2, le=40, description="characters a clause needs to count")


class RecencySettings(BaseModel):
    enabled: bool = Field(True, description="prefer later document dates when the question asks for the latest")
    weight: float = Field(0.5, ge=0, le=2, description="bonus of the newest hit over the normalised score")
    half_life_days: float = Field(7.0, gt=0, description="days older than the newest that halve the bonus")
    top_n: int = Field(10, ge=2, description="leading hits re-ordered")


class QueryPlanSettings(BaseModel):
    subqueries: SubquerySettings = Field(default_factory=SubquerySettings)
    near_dup: NearDupSettings = Field(default_factory=NearDupSettings)
    recency: RecencySettings = Field(default_factory=RecencySettings)
