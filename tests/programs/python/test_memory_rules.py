"""Tests written to keep and to break each rule of tidemark's pytest plugin (python/tidemark/
pytest_plugin.py); tests/e2e/python_pytest_test.cpp runs them and checks which pass."""
import datetime

import pytest

import tidemark

kept = []


@pytest.mark.limit_memory("8 MB")
def test_keeps_under_its_memory_limit():
    block = bytearray(4 * 1024 * 1024)
    assert len(block) == 4 * 1024 * 1024


@pytest.mark.limit_memory("8 MB")
def test_breaks_its_memory_limit():
    blocks = [bytearray(1024 * 1024) for _ in range(12)]  # OVER_LIMIT
    assert len(blocks) == 12


@pytest.mark.limit_leaks("256 KB")
def test_leaves_nothing_behind():
    temporary = [bytearray(100_000) for _ in range(20)]
    assert len(temporary) == 20


@pytest.mark.limit_leaks("256 KB")
def test_leaves_memory_behind():
    kept.extend(bytearray(100_000) for _ in range(20))  # LEAK


@pytest.mark.no_unbounded_growth
def test_a_bounded_cache():
    cache = {}
    day = datetime.date(2024, 1, 1)
    for i in range(60):
        tidemark.mark_date(day)
        cache[i % 5] = bytearray(100_000)
        day += datetime.timedelta(days=1)


@pytest.mark.no_unbounded_growth
def test_an_unbounded_cache():
    cache = {}
    day = datetime.date(2024, 1, 1)
    for _ in range(60):
        tidemark.mark_date(day)
        cache[day] = bytearray(100_000)  # UNBOUNDED
        day += datetime.timedelta(days=1)


def test_without_rules_runs_in_pytest_itself():
    assert not tidemark.active()
