"""Tiny harness cases for tests/benchmarks/test_harness.py (no timing is asserted)."""


def tiny_matmul(fw, n=8):
    a = fw.ones(n, n)
    b = fw.ones(n, n)

    def step():
        (a @ b).sum()
    return step


def self_timed(fw):
    def step():
        return 0.001  # the step reports its own time (seconds)
    return step, 2


def broken(fw):
    raise RuntimeError("this case cannot be built")
