"""Scoring the answer service on test prompts: cases, metrics, floors, reports, the tutorial baseline."""
