"""Evaluation: metrics (and, with the harness, Voting@k / MetaRM@k curves over benchmark datasets)."""
