"""The fault-injection suite (tests/fault_suite.py) under pytest: every bad input and fault has its
defined outcome, no traceback, nothing lost. `python tests/fault_suite.py --write
docs/reliability.md` writes the same results as the table in docs/reliability.md."""

import pytest

from fault_suite import CASES, run_case


@pytest.fixture(scope="module")
def root(tmp_path_factory, allison_dir):
    return tmp_path_factory.mktemp("faults")


@pytest.mark.parametrize("case", CASES, ids=[f"{c.area}:{c.name}" for c in CASES])
def test_fault(case, root):
    r = run_case(case, root)
    assert not r.traceback, r.outcome
    assert not r.lost, r.outcome
    assert r.ok, r.outcome
