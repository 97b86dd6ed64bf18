"""onnxruntime and the band threads use the CPUs Lambda gives the function, not the host's count."""

import pytest

from function.imaging import model


@pytest.mark.parametrize(
    "memory_mb,host,expected",
    [
        ("128", 8, 1),
        ("1769", 8, 1),
        ("1770", 8, 2),
        ("3008", 8, 2),
        ("3538", 8, 2),
        ("3539", 8, 3),
        ("10240", 8, 6),
        ("10240", 2, 2),
        ("3008", 1, 1),
    ],
)
def test_threads_follow_lambda_memory(monkeypatch, memory_mb, host, expected):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb)
    monkeypatch.setattr(model.os, "sched_getaffinity", lambda pid: set(range(host)))
    assert model.usable_cpus() == expected


def test_outside_lambda_the_affinity_mask_counts(monkeypatch):
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", raising=False)
    monkeypatch.setattr(model.os, "sched_getaffinity", lambda pid: {0, 3, 5})
    assert model.usable_cpus() == 3


def test_a_bad_memory_value_is_ignored(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots")
    monkeypatch.setattr(model.os, "sched_getaffinity", lambda pid: {0, 1})
    assert model.usable_cpus() == 2


def test_the_session_and_the_band_pool_use_usable_cpus(model):
    from function.imaging import banded

    assert model.threads == banded.WORKERS == _usable_now()


def _usable_now() -> int:
    return model.usable_cpus()
