"""The benchmark harness (benchmarks/_harness.py): end to end in ktrain-only mode with tiny
cases, the load refusal, --force marking, JSON/markdown output and the PASS/MISS logic.
No timing is asserted."""
import argparse
import importlib.util
import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "benchmarks")
TINY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny_cases.py")
sys.path.insert(0, BENCH)

import _harness as H  # noqa: E402


def _args(**kw):
    p = H.add_arguments(argparse.ArgumentParser())
    a = p.parse_args([])
    a.no_torch = True
    a.rounds, a.steps, a.warmup, a.warmup_s = 2, 1, 1, 0.0
    for k, v in kw.items():
        setattr(a, k, v)
    return a


@pytest.fixture
def idle(monkeypatch):
    monkeypatch.setattr(H, "read_loadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(H, "busy_fraction", lambda interval=1.0: 0.0)


@pytest.fixture
def busy(monkeypatch):
    monkeypatch.setattr(H, "read_loadavg", lambda: (50.0, 50.0, 50.0))
    monkeypatch.setattr(H, "busy_fraction", lambda interval=1.0: 0.0)


def test_refuses_under_load(busy, capsys):
    with pytest.raises(SystemExit) as e:
        H.check_load(force=False, n_cores=2)
    assert "refusing" in str(e.value.code) and "--force" in str(e.value.code)
    with pytest.raises(SystemExit) as e:
        H.main_run(_args(threads=["1"]), [], "t")
    assert e.value.code == H.EXIT_UNDER_LOAD


def test_wait_idle_gives_up_then_refuses(busy, monkeypatch):
    monkeypatch.setattr(H.time, "sleep", lambda s: None)
    assert H.wait_idle(2, timeout_s=0.0) is False
    with pytest.raises(SystemExit):
        H.check_load(wait=True, wait_timeout_s=0.0, n_cores=2)


def test_threshold_is_per_core(monkeypatch):
    monkeypatch.setattr(H, "busy_fraction", lambda interval=1.0: 0.0)
    monkeypatch.setattr(H, "read_loadavg", lambda: (0.9, 0.0, 0.0))
    assert H.check_load(n_cores=2)[1] is False
    with pytest.raises(SystemExit):
        H.check_load(n_cores=1)


def test_end_to_end_ktrain_only_json_markdown(idle, tmp_path, capsys):
    out = tmp_path / "r.json"
    cases = [H.Case("mm", "tiny matmul", TINY, "tiny_matmul", {"n": 4}),
             H.Case("self", "self-timed", TINY, "self_timed"),
             H.Case("bad", "broken", TINY, "broken")]
    rep = H.main_run(_args(threads=["1"], json=str(out), markdown=True), cases, "tiny",
                     targets={"mm": 1.0}, fresh=False)
    text = capsys.readouterr().out
    assert "tiny matmul" in text and "| workload |" in text and "n/a" in text
    assert "ktrain failed" in text  # the broken case is reported, not fatal
    data = json.loads(out.read_text())
    assert data["under_load"] is False and data["threads"] == [1]
    for key in ("cpu_model", "cores", "git"):
        assert key in data["machine"]
    assert data["load_before"]["loadavg"] == [0.0, 0.0, 0.0] and "load_after" in data
    mm = data["results"][0]
    kt = mm["frameworks"]["ktrain"]
    assert len(kt["times_s"]) == 2 and all(len(r) == 1 for r in kt["times_s"])
    assert kt["info"]["num_threads"] == 1 and "numpy" in kt["info"]
    assert mm["ratio_median"] is None and "torch" not in mm["frameworks"]
    # a self-timed step (0.001 s over 2 inner calls) reports its own time per call
    assert data["results"][1]["frameworks"]["ktrain"]["median_s"] == pytest.approx(0.0005)
    assert "error" in data["results"][2]["frameworks"]["ktrain"]
    assert data["verdicts"]["mm@1"][1] == "n/a"


def test_force_marks_every_figure(busy, tmp_path, capsys):
    out = tmp_path / "r.json"
    cases = [H.Case("self", "self-timed", TINY, "self_timed")]
    H.main_run(_args(threads=["1"], json=str(out), markdown=True, force=True), cases, "t",
               targets={"self": 0.5})
    text = capsys.readouterr().out
    table_rows = [ln for ln in text.splitlines() if ln.startswith(("self-timed", "| self-timed"))]
    assert len(table_rows) == 2 and all(H.UNDER_LOAD in ln for ln in table_rows)
    data = json.loads(out.read_text())
    assert data["under_load"] is True
    assert all(r["under_load"] and r["note"] == H.UNDER_LOAD for r in data["results"])


def _res(case, threads, ratio, under_load=False):
    return {"case": case, "label": case, "threads": threads, "frameworks": {},
            "ratio_median": ratio, "ratio_min": ratio, "ratio_max": ratio,
            "under_load": under_load}


def test_pass_miss():
    rs = [_res("a", 1, 1.2), _res("a", 2, 1.1), _res("b", 1, 0.5), _res("b", 2, 0.9),
          _res("c", 2, 0.3), _res("c", 1, None)]
    v = H.verdicts(rs, {"a": 1.0, "b": 1.0, "c": 0.5}, all_threads=2)
    assert v[("a", 2)][1] == "PASS" and v[("a", 1)][1] == "PASS"
    assert v[("b", 2)][1] == "MISS"            # below the target
    assert v[("b", 1)][1] == "MISS"            # 1 thread below its 2-thread ratio
    assert v[("c", 2)][1] == "MISS" and v[("c", 1)][1] == "n/a"
    assert H.verdicts([_res("a", 2, 2.0, True)], {"a": 1.0}, 2)[("a", 2)][1] == "n/a"


def test_summary_ratios():
    res = {"frameworks": {"torch": {"times_s": [[2.0, 2.0], [3.0]]},
                          "ktrain": {"times_s": [[1.0, 1.0], [1.0]]}}}
    H.summarize(res)
    assert res["ratio_rounds"] == [2.0, 3.0]
    assert res["ratio_median"] == 2.5 and res["ratio_min"] == 2.0 and res["ratio_max"] == 3.0


def test_thread_counts():
    assert H.thread_counts(["1", "1", "all"]) == [1, H.cores()] or H.cores() == 1
    with pytest.raises(SystemExit):
        H.thread_counts(["0"])


def test_worker_env_sets_threads_before_import():
    env = H._worker_env(3)
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        assert env[v] == "3"


def test_worker_env_drops_blas_kernel_overrides_unless_kept(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "1024")
    monkeypatch.setattr(H, "KEEP_ENV", [False])
    env = H._worker_env(2)
    assert "OPENBLAS_CORETYPE" not in env and "OPENBLAS_L2_SIZE" not in env
    monkeypatch.setattr(H, "KEEP_ENV", [True])
    assert H._worker_env(2)["OPENBLAS_CORETYPE"] == "Haswell"
    assert _args(keep_env=True).keep_env and not _args().keep_env


def test_bench_models_workloads_build_in_ktrain():
    """Every workload's step runs once in ktrain (the smallest ones: the rest are big)."""
    spec = importlib.util.spec_from_file_location("bench_models", os.path.join(BENCH,
                                                                              "bench_models.py"))
    bm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bm)
    assert set(bm.TARGETS) == set(bm.WORKLOADS)
    import ktrain

    ktrain.manual_seed(0)
    bm.make_step(ktrain, "mlp")()
    model, x, y = bm.build(ktrain, "mnist_cnn")
    assert tuple(model(x[:2]).shape) == (2, 10)


_BENCH_VENV = "/work/bench-venv/bin/python"
_TORCH_PY = (sys.executable if importlib.util.find_spec("torch") is not None
             else _BENCH_VENV if os.path.exists(_BENCH_VENV) else None)


@pytest.mark.skipif(_TORCH_PY is None, reason="needs torch (here or in /work/bench-venv)")
def test_torch_worker_ratio(idle):
    cases = [H.Case("mm", "tiny matmul", TINY, "tiny_matmul", {"n": 4})]
    res = H.run_cases(cases, ["ktrain", "torch"], [1], pythons={"torch": _TORCH_PY},
                      rounds=2, steps=1, warmup=1, warmup_s=0.0)
    assert res[0]["frameworks"]["torch"]["info"]["num_threads"] == 1
    assert res[0]["ratio_median"] is not None and len(res[0]["ratio_rounds"]) == 2


def test_bench_fit_tree_env_imports_this_tree():
    spec = importlib.util.spec_from_file_location("bench_fit", os.path.join(BENCH, "bench_fit.py"))
    bf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bf)
    env = bf.tree_env(ROOT)
    assert env["PYTHONPATH"].split(os.pathsep)[0] == os.path.join(ROOT, "src", "core")
    bf.check_tree(ROOT, sys.executable)  # raises SystemExit when ktrain comes from elsewhere
    with pytest.raises(SystemExit):
        bf.check_tree(os.path.join(ROOT, "benchmarks"), sys.executable)


def test_profile_models_prints_the_top_ops(tmp_path):
    import subprocess

    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src", "core"))
    r = subprocess.run([sys.executable, os.path.join(BENCH, "profile_models.py"), "--only",
                        "mlp", "--threads", "1", "--warmup", "1", "--steps", "1", "--top", "3",
                        "--markdown"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "ktrain mlp, 1 thread(s)" in r.stdout
    rows = [ln for ln in r.stdout.splitlines() if ln.startswith("| `")]
    assert len(rows) == 3 and any("Linear" in ln for ln in rows), r.stdout
