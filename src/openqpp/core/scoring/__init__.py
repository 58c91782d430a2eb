"""Preliminary MIPS scoring: pure rules over a canonical submission, policy and measures data."""

from openqpp.core.scoring.tree import (
    Combine,
    ScoreNode,
    TreeProblem,
    check_tree,
    expected_points,
    rounded,
)

__all__ = ["Combine", "ScoreNode", "TreeProblem", "check_tree", "expected_points", "rounded"]
