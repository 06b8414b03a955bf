"""ktrain.profiler / ktrain.autograd.profiler: what is recorded, the reports, schedules."""
import gzip
import json
import os
import threading
import warnings

import numpy as np
import pytest

import ktrain as kt
from ktrain import nn
from ktrain.autograd import profiler as aprof
from ktrain.autograd.function import Function, Op
from ktrain.profiler import (ProfilerAction, ProfilerActivity, profile, record_function,
                             schedule, supported_activities, tensorboard_trace_handler)

A = ProfilerAction


def f32(*shape, seed=0):
    return kt.tensor(np.random.RandomState(seed).randn(*shape).astype(np.float32))


def names(events):
    return [e.name for e in events]


def by_name(events, name):
    return [e for e in events if e.name == name]


# ---------------------------------------------------------------------------- recording
def test_forward_and_backward_ops_are_recorded_with_counts():
    x = f32(4, 3).requires_grad_()
    w = f32(3, 5, seed=1).requires_grad_()
    with profile() as prof:
        y = (x @ w).relu()
        for _ in range(3):
            y = y * 2.0
        y.sum().backward()
    avg = {a.key: a for a in prof.key_averages()}
    top = [e.name for e in prof.events() if e.cpu_parent is None]
    assert top.count("Mul") == 3 and avg["MulBackward0"].count == 3
    assert top.count("Relu") == 1 and avg["ReluBackward0"].count == 1
    assert avg["Sum"].count == 1 and avg["SumBackward0"].count == 1
    assert avg["AccumulateGrad"].count == 2  # x and w
    assert any(k.startswith("Mat") for k in avg), sorted(avg)
    for e in prof.events():
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total + 1e-6
        assert e.thread == threading.get_native_id()


def test_python_operator_fast_path_is_recorded():
    a, b = f32(2, 2), f32(2, 2, seed=1)
    with profile() as prof:
        a + b
        a * b
    assert names(prof.events()) == ["Add", "Mul"]


def test_backward_ops_nest_inside_their_node():
    x = f32(3).requires_grad_()
    with profile() as prof:
        (x.exp() * x).sum().backward()
    ev = prof.events()
    node = by_name(ev, "MulBackward0")[0]
    inner = [c.name for c in node.cpu_children]
    assert inner and all(n == "Mul" for n in inner), inner  # g * other, g * self
    for c in node.cpu_children:
        assert node.time_range.start <= c.time_range.start <= c.time_range.end \
            <= node.time_range.end
    assert node.self_cpu_time_total == pytest.approx(
        node.cpu_time_total - sum(c.cpu_time_total for c in node.cpu_children))


def test_custom_function_is_recorded_under_its_class_name():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * g * x * x

    x = f32(3).requires_grad_()
    with profile() as prof:
        Cube.apply(x).sum().backward()
    ev = prof.events()
    cube = by_name(ev, "Cube")[0]
    assert [c.name for c in cube.cpu_children] == ["Mul", "Mul"]
    assert by_name(ev, "CubeBackward")


def test_nothing_is_patched_or_recorded_outside_a_profile():
    apply = Op.__dict__["apply"]
    with profile() as prof:
        assert Op.__dict__["apply"] is not apply
        f32(2) + 1.0
    assert Op.__dict__["apply"] is apply and aprof._active[0] is None
    n = len(prof.events())
    f32(2) * 3.0
    assert len(prof.events()) == n
    with pytest.raises(ZeroDivisionError):
        with profile():
            1 / 0
    assert Op.__dict__["apply"] is apply and aprof._active[0] is None
    assert aprof._ranges[0] is None


def test_one_profile_at_a_time():
    with profile():
        with pytest.raises(RuntimeError, match="already running"):
            with profile():
                pass
    with profile():  # the failed start left nothing behind
        pass


def test_results_are_identical_with_and_without_profiling():
    def run():
        kt.manual_seed(0)
        m = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
        opt = kt.optim.Adam(m.parameters(), lr=0.01)
        x = f32(5, 2, 6, 6)
        for _ in range(2):
            loss = m(x).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return [p.detach().numpy().copy() for p in m.parameters()]

    plain = run()
    with profile(record_shapes=True, profile_memory=True, with_stack=True,
                 with_modules=True):
        profiled = run()
    for a, b in zip(plain, profiled):
        np.testing.assert_array_equal(a, b)


def test_ops_of_other_threads_carry_their_thread():
    def work():
        f32(3) + 1.0

    with profile() as prof:
        t = threading.Thread(target=work)
        t.start()
        t.join()
        f32(3) + 1.0
    threads = {e.thread for e in by_name(prof.events(), "Add")}
    assert len(threads) == 2


# ---------------------------------------------------------------------------- ranges
def test_record_function_ranges_contain_their_ops():
    with profile() as prof:
        with record_function("outer"):
            f32(2) + 1.0
            with record_function("inner"):
                f32(2) * 2.0
    ev = prof.events()
    outer, inner = by_name(ev, "outer")[0], by_name(ev, "inner")[0]
    assert outer.cpu_parent is None and inner.cpu_parent is outer
    assert [c.name for c in outer.cpu_children] == ["Add", "inner"]
    assert [c.name for c in inner.cpu_children] == ["Mul"]
    assert outer.kind == "user_annotation"


def test_record_function_as_decorator_and_recursively():
    @record_function("fact")
    def fact(n):
        return 1 if n <= 1 else n * fact(n - 1)

    assert fact(4) == 24  # free outside a profile
    with profile() as prof:
        fact(3)
    ev = by_name(prof.events(), "fact")
    assert len(ev) == 3
    assert ev[1].cpu_parent is ev[0] and ev[2].cpu_parent is ev[1]


def test_optimizer_steps_and_loader_fetches_are_ranges():
    m = nn.Linear(3, 2)
    opt = kt.optim.SGD(m.parameters(), lr=0.1)
    sched = kt.optim.lr_scheduler.StepLR(opt, 1)  # wraps opt.step: must not hide it
    dl = kt.utils.data.DataLoader(kt.utils.data.TensorDataset(f32(8, 3)), batch_size=4)
    with profile() as prof:
        for (x,) in dl:
            opt.zero_grad()
            m(x).sum().backward()
            opt.step()
            sched.step()
    avg = {a.key: a.count for a in prof.key_averages()}
    assert avg["Optimizer.step#SGD.step"] == 2
    assert avg["Optimizer.zero_grad#SGD.zero_grad"] == 2
    assert avg["enumerate(DataLoader)#_SingleProcessDataLoaderIter.__next__"] == 3  # + stop


def test_with_modules_nests_module_calls():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    with profile(with_modules=True) as prof:
        m(f32(2, 3))
    ev = prof.events()
    seq = by_name(ev, "nn.Module: Sequential")[0]
    assert [c.name for c in seq.cpu_children] == ["nn.Module: Linear", "nn.Module: ReLU"]
    assert [c.name for c in seq.cpu_children[0].cpu_children] == ["Linear"]
    with profile() as prof:  # off by default
        m(f32(2, 3))
    assert not any(n.startswith("nn.Module") for n in names(prof.events()))


def test_deferred_inference_conv_is_its_own_range():
    m = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten()).eval()
    with kt.no_grad():
        ref = m(f32(2, 2, 5, 5)).numpy()
        with profile() as prof:
            out = m(f32(2, 2, 5, 5)).numpy()
    np.testing.assert_array_equal(ref, out)
    assert "ConvFused" in names(prof.events()) or "Conv" in names(prof.events())


# ---------------------------------------------------------------------------- shapes, memory
def test_record_shapes_and_grouping_by_them():
    w = f32(3, 5)
    with profile(record_shapes=True) as prof:
        kt.matmul(f32(4, 3), w)
        kt.matmul(f32(4, 3), w)
        kt.matmul(f32(2, 3), w)
        kt.cat([f32(2), f32(3)])
    ev = prof.events()
    mm = [e for e in ev if e.name.startswith("Mat")]
    assert [e.input_shapes for e in mm] == [[[4, 3], [3, 5]]] * 2 + [[[2, 3], [3, 5]]]
    grouped = prof.key_averages(group_by_input_shape=True)
    counts = sorted(a.count for a in grouped if a.key == mm[0].name)
    assert counts == [1, 2]
    assert by_name(ev, "Cat")[0].input_shapes == [[2], [3]]
    with profile() as prof:
        kt.matmul(f32(4, 3), w)
    assert all(e.input_shapes == [] for e in prof.events())


def test_profile_memory_counts_output_bytes_and_views_as_zero():
    x = f32(4, 5)
    with profile(profile_memory=True) as prof:
        x * 2.0             # a fresh (4, 5) float32: 80 bytes
        x.view(20)          # a view: nothing allocated
        with record_function("block"):
            x + x
            x - x
    ev = prof.events()
    assert by_name(ev, "Mul")[0].cpu_memory_usage == 80
    views = [e for e in ev if e.name not in ("Mul", "Add", "Sub", "block")]
    assert views and all(e.cpu_memory_usage == 0 for e in views)
    block = by_name(ev, "block")[0]
    assert block.cpu_memory_usage == 160 and block.self_cpu_memory_usage == 0
    table = prof.key_averages().table(sort_by="cpu_memory_usage")
    assert "CPU Mem" in table and "80 b" in table


# ---------------------------------------------------------------------------- reports
def test_table_layout_sorting_and_limits():
    with profile() as prof:
        for _ in range(4):
            f32(50, 50) @ f32(50, 50)
        f32(2) + 1.0
    avg = prof.key_averages()
    table = avg.table(sort_by="self_cpu_time_total", row_limit=1)
    lines = table.splitlines()
    assert lines[1].split()[:3] == ["Name", "Self", "CPU"]
    assert len([ln for ln in lines if ln.strip().endswith(("1", "4")) and "%" in ln]) == 1
    assert lines[-1].startswith("Self CPU time total: ")
    rows = [ln for ln in avg.table(sort_by="count").splitlines()[3:] if "%" in ln]
    assert rows[0].split()[-1] == "4"  # the most called first
    assert "Title" in avg.table(header="Title")
    with pytest.raises(ValueError, match="self_cpu_time_total"):
        avg.table(sort_by="cpu_tim")
    with pytest.warns(UserWarning, match="CPU times only"):
        avg.table(sort_by="cuda_time_total")
    total = avg.total_average()
    assert total.count == sum(a.count for a in avg)
    assert total.self_cpu_time_total == pytest.approx(prof.events().self_cpu_time_total)


def test_long_names_are_cut_in_the_table():
    with profile() as prof:
        with record_function("x" * 80):
            pass
    line = [ln for ln in prof.key_averages().table().splitlines() if "xxx" in ln][0]
    assert "..." in line and "x" * 80 not in line


def test_chrome_trace_is_valid_and_nested(tmp_path):
    x = f32(3, 3).requires_grad_()
    with profile(record_shapes=True) as prof:
        with record_function("step"):
            (x @ x).sum().backward()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    ops = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert len(ops) == len(prof.events())
    step = [e for e in ops if e["name"] == "step"][0]
    for e in ops:
        assert isinstance(e["ts"], (int, float)) and e["dur"] >= 0
        assert step["ts"] <= e["ts"] and e["ts"] + e["dur"] <= step["ts"] + step["dur"] + 1e-3
    assert any("Input Dims" in e["args"] for e in ops)
    with pytest.raises(TypeError, match="key_averages"):
        prof.key_averages().export_chrome_trace(str(path))


def test_with_stack_points_at_the_caller_and_exports_stacks(tmp_path):
    with profile(with_stack=True) as prof:
        f32(3) + 1.0
    add = by_name(prof.events(), "Add")[0]
    assert any(__file__ in s and "test_with_stack" in s for s in add.stack)
    assert not any(os.path.join("autograd", "profiler.py") in s for s in add.stack)
    out = tmp_path / "stacks.txt"
    prof.export_stacks(str(out))
    lines = out.read_text().splitlines()
    assert lines and all(ln.rsplit(" ", 1)[1].isdigit() for ln in lines)
    assert any(ln.rsplit(" ", 1)[0].endswith(";Add") for ln in lines)
    with profile() as plain:
        pass
    with pytest.raises(RuntimeError, match="with_stack"):
        plain.export_stacks(str(out))


def test_results_before_the_profile_ends_are_an_error():
    p = profile()
    with pytest.raises(RuntimeError, match="no results"):
        p.key_averages()


# ---------------------------------------------------------------------------- schedule
def test_schedule_matches_pytorch_semantics():
    s = schedule(wait=1, warmup=1, active=2, repeat=1, skip_first=1)
    assert [s(i) for i in range(7)] == [A.NONE, A.NONE, A.WARMUP, A.RECORD,
                                        A.RECORD_AND_SAVE, A.NONE, A.NONE]
    s = schedule(wait=0, warmup=1, active=1)
    assert [s(i) for i in range(4)] == [A.WARMUP, A.RECORD_AND_SAVE] * 2
    with pytest.raises(ValueError, match="active"):
        schedule(wait=1, warmup=1, active=0)
    with pytest.warns(UserWarning, match="warmup"):
        schedule(wait=0, warmup=0, active=1)


def test_scheduled_profile_records_only_active_steps_and_hands_each_cycle_over():
    cycles = []
    with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=2),
                 on_trace_ready=lambda p: cycles.append(p.events())) as prof:
        for step in range(10):
            with record_function(f"work{step}"):
                f32(2) + 1.0
            prof.step()
    assert len(cycles) == 2
    assert sorted(e.name for e in cycles[0] if e.name.startswith("Profiler")) == \
        ["ProfilerStep#2", "ProfilerStep#3"]
    assert sorted(e.name for e in cycles[0] if e.name.startswith("work")) == \
        ["work2", "work3"]
    assert sorted(e.name for e in cycles[1] if e.name.startswith("work")) == \
        ["work6", "work7"]
    work = by_name(cycles[0], "work2")[0]
    assert work.cpu_parent.name == "ProfilerStep#2"
    assert aprof._active[0] is None  # the loop ran on, unrecorded, after the cycles


def test_profile_stopped_mid_cycle_saves_what_it_recorded():
    got = []
    prof = profile(schedule=schedule(wait=0, warmup=1, active=5), on_trace_ready=got.append)
    prof.start()
    for _ in range(3):
        f32(2) + 1.0
        prof.step()
    prof.stop()
    assert len(got) == 1
    assert sorted(n for n in names(prof.events()) if n.startswith("Profiler")) == \
        ["ProfilerStep#1", "ProfilerStep#2", "ProfilerStep#3"]


def test_tensorboard_trace_handler_writes_named_traces(tmp_path):
    for gz in (False, True):
        d = tmp_path / ("gz" if gz else "plain")
        with profile(on_trace_ready=tensorboard_trace_handler(str(d), "worker0", gz)):
            f32(2) + 1.0
        (name,) = os.listdir(d)
        assert name.startswith("worker0.") and name.endswith(
            ".pt.trace.json.gz" if gz else ".pt.trace.json")
        opener = gzip.open if gz else open
        with opener(d / name, "rt") as f:
            assert any(e["name"] == "Add" for e in json.load(f)["traceEvents"])


def test_activities_and_unsupported_options():
    assert supported_activities() == {ProfilerActivity.CPU}
    with pytest.warns(UserWarning, match="only CPU"):
        profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
    with pytest.warns(UserWarning, match="FLOP"):
        profile(with_flops=True)
    with pytest.raises(TypeError, match="ProfilerActivity"):
        profile(activities=["cpu"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        profile(activities=[ProfilerActivity.CPU])


def test_legacy_autograd_profiler_api():
    x = f32(3).requires_grad_()
    with kt.autograd.profiler.profile(record_shapes=True) as prof:
        (x * x).sum().backward()
    assert "MulBackward0" in names(prof.function_events)
    assert "MulBackward0" in prof.table(sort_by="cpu_time_total")
    assert prof.self_cpu_time_total > 0
    with kt.autograd.profiler.profile(enabled=False) as off:
        x * x
    with pytest.raises(RuntimeError):
        off.key_averages()
