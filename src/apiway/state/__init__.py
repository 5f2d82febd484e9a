"""Shared in-memory state that outlives one compiled stage: token buckets for throttling (stage,
method and account limits here; usage plans reuse them)."""
