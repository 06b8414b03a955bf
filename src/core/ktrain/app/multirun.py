"""Hyper-parameter sweeps: a real Hydra multirun of ``run_from_config`` jobs, summarised.

    from ktrain.app.multirun import run_sweep
    result = run_sweep("conf/mlp_synthetic.yaml", ["optim.lr=0.01,0.1", "seed=range(2)"],
                       fixed=["trainer=fast"], monitor="val/accuracy", mode="max")
    result.sweep_dir, result.rows      # ranked rows; summary.csv and a PNG in sweep_dir

The sweep is ``hydra.main`` called with an explicit argv (``--multirun`` first), so Hydra's
own sweepers (basic: comma lists and ``range()``; ``optuna``: ``interval()``/``choice()``)
and launchers (basic, ``joblib``, and any other installed one) do the work. Every job is
a normal run directory ``multirun/<experiment>/<timestamp>/<job num>/`` that also holds
``sweep_result.json`` (params, metrics, status, error); a failing job is recorded there
and reported at the end instead of aborting the sweep.
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .config.schema import ConfigError
from ..serialization import json_dumps

__all__ = ["SweepResult", "run_sweep", "summarise"]

RESULT_FILE = "sweep_result.json"
_SWEEPERS = {"basic": None, "optuna": "hydra_plugins.hydra_optuna_sweeper"}
_LAUNCHERS = {"basic": None, "joblib": "hydra_plugins.hydra_joblib_launcher"}


@dataclass
class SweepResult:
    sweep_dir: Path
    monitor: str
    mode: str
    params: list[str]
    rows: list[dict] = field(default_factory=list)  # ranked; failures last
    csv_path: Path | None = None
    plot_path: Path | None = None

    @property
    def n_failed(self) -> int:
        return sum(1 for r in self.rows if r["status"] != "ok")

    @property
    def best(self):
        ok = [r for r in self.rows if r["status"] == "ok" and _finite(r.get("metric"))]
        return ok[0] if ok else None


class SweepJobFailed(RuntimeError):
    """A sweep job failed (its error is in the job's ``sweep_result.json``)."""


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _require_plugin(kind, name, table):
    if name not in table:
        opts = ", ".join(table)
        raise ConfigError(f"unknown {kind} '{name}'; choose one of: {opts}")
    module = table[name]
    if module is None:
        return
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):  # no hydra_plugins package at all
        spec = None
    if spec is None:
        raise ConfigError(f"the {name} {kind} needs a Hydra plugin that is not installed: "
                          f'pip install "ktrain[sweep]"')


def _parse_params(params, sweeper):
    """Parsed Hydra overrides of ``params``; syntax errors as :class:`ConfigError`."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    params = [str(p) for p in params]
    if not params:
        raise ConfigError("nothing to sweep: give at least one PARAM=VALUES "
                          "(e.g. optim.lr=0.01,0.1 or seed=range(3))")
    parser = OverridesParser.create()
    parsed = []
    for p in params:
        if "=" not in p:
            raise ConfigError(f"bad sweep parameter '{p}': expected KEY=VALUES "
                              f"(e.g. optim.lr=0.01,0.1)")
        try:
            parsed.append(parser.parse_override(p))
        except HydraException as e:
            msg = str(e).strip().splitlines()
            raise ConfigError(f"bad sweep parameter '{p}': "
                              f"{msg[-1] if msg else type(e).__name__}") from None
    for p, o in zip(params, parsed):
        if sweeper == "basic" and o.is_interval_sweep():
            raise ConfigError(f"'{p}': interval() needs an optimising sweeper "
                              f"(--sweeper optuna); the basic sweeper takes comma lists "
                              f"and range()")
    return params, parsed


def _fmt(v):
    if isinstance(v, str):
        return v
    return json.dumps(v) if isinstance(v, (list, dict, bool)) or v is None else repr(v)


def _probe_values(o, limit=32):
    """Concrete values of override ``o`` (up to ``limit``), to validate the composed
    config of each before anything runs."""
    if not o.is_sweep_override():
        return [o.get_value_element_as_str()]
    if o.is_interval_sweep():
        iv = o.value()
        return [repr(iv.start), repr(iv.end)]
    out = []
    for v in o.sweep_iterator():
        out.append(_fmt(v))
        if len(out) >= limit:
            break
    if not out:
        raise ConfigError(f"'{o.input_line}': empty sweep")
    return out


def _timestamp():
    return _dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")


def _swept_keys(parsed):
    return [o.get_key_element().lstrip("+~") for o in parsed]


def run_sweep(config_file, params, *, fixed=(), sweeper="basic", n_trials=None,
              launcher="basic", jobs=None, monitor="val/accuracy", mode="max",
              output_dir="multirun", hydra_logging=True, allow_targets=()) -> SweepResult:
    """Run a Hydra multirun of ``config_file`` over ``params`` (sweep overrides, Hydra
    syntax) plus ``fixed`` overrides; returns the ranked :class:`SweepResult` and writes
    ``summary.csv`` and ``summary.png`` into the sweep directory.

    ``allow_targets``: modules the config's ``_target_`` s may name besides ktrain, the
    plugins and the config's own ``allow_targets`` (``--allow-target``; recorded in each
    job's config.yaml). The ``hydra`` node that ``hydra.main`` instantiates (callbacks,
    launcher, sweeper, logging) is checked too.

    Raises :class:`ConfigError` for user errors (config file, override syntax, unknown
    keys, a refused ``_target_``, a missing plugin) before anything runs."""
    import hydra
    from omegaconf import OmegaConf

    from .config import compose_config, validate
    from .config.compose import (_read_yaml, _with_shipped_searchpath, group_dirs,
                                  schema_overrides)
    from ..target_policy import (TargetPolicy, UntrustedTargetError, check_hydra_node,
                                 valid_modules)

    extra = valid_modules(allow_targets, "--allow-target")
    policy = TargetPolicy(allow=extra)

    if mode not in ("max", "min"):
        raise ConfigError(f"--mode must be 'max' or 'min', got '{mode}'")
    _require_plugin("sweeper", sweeper, _SWEEPERS)
    _require_plugin("launcher", launcher, _LAUNCHERS)
    if n_trials is not None and n_trials < 1:
        raise ConfigError("--n-trials must be at least 1")
    if jobs is not None and jobs < 1:
        raise ConfigError("--jobs must be at least 1")
    fixed = [str(f) for f in fixed]
    params, parsed = _parse_params(params, sweeper)
    _parse_params(fixed, "basic") if fixed else None
    # compose + validate one point of the sweep: unknown keys, bad types, bad groups
    values = [_probe_values(o) for o in parsed]
    first = [f"{o.get_key_element()}={v[0]}" for o, v in zip(parsed, values)]
    run = validate(compose_config(config_file, fixed + first), target_policy=policy)
    for i, (o, vals) in enumerate(zip(parsed, values)):
        for v in vals[1:]:
            probe = list(first)
            probe[i] = f"{o.get_key_element()}={v}"
            validate(compose_config(config_file, fixed + probe), target_policy=policy)
    hydra_node = compose_config(config_file, fixed + first, return_hydra_config=True).hydra
    refused = check_hydra_node(OmegaConf.to_container(hydra_node, resolve=False),
                               policy.with_config(run.allow_targets))
    if refused:
        raise UntrustedTargetError("\n  ".join(["invalid config:"] + refused), refused)

    path = Path(os.fspath(config_file)).expanduser()
    if path.suffix == "" and path.with_suffix(".yaml").is_file():
        path = path.with_suffix(".yaml")
    path = path.resolve()
    sweep_dir = (Path(output_dir) / run.experiment / _timestamp()).resolve()
    swept = _swept_keys(parsed)
    experiment = run.experiment

    def _job(job_cfg):
        from hydra.core.hydra_config import HydraConfig
        from omegaconf import open_dict

        from .run import run_from_config

        hc = HydraConfig.get()
        job_dir = Path(hc.runtime.output_dir)
        task_overrides = list(hc.overrides.task)
        values = {}
        for o in task_overrides:
            k, _, v = o.partition("=")
            k = k.lstrip("+~")
            if k in swept:
                values[k] = v
        rec = {"job": int(hc.job.num), "run_dir": str(job_dir), "params": values,
               "overrides": [o for o in task_overrides if not o.startswith("hydra.")],
               "metrics": {}, "metric": None, "status": "ok", "error": None}
        try:
            with open_dict(job_cfg):
                job_cfg.pop("hydra", None)
                if "experiment" not in job_cfg:
                    job_cfg.experiment = experiment
            OmegaConf.set_struct(job_cfg, False)
            run_cfg = validate(job_cfg, target_policy=policy)
            run_cfg.allow_targets = list(dict.fromkeys([*run_cfg.allow_targets, *extra]))
            metrics = run_from_config(run_cfg, run_dir=job_dir,
                                      overrides=rec["overrides"],
                                      enable_progress_bar=False, target_policy=policy)
            rec["metrics"] = metrics
            if monitor not in metrics:
                raise KeyError(f"monitored metric '{monitor}' not logged; logged: "
                               f"{', '.join(sorted(metrics)) or 'none'}")
            rec["metric"] = float(metrics[monitor])
            if not math.isfinite(rec["metric"]):
                raise FloatingPointError(f"{monitor} is {rec['metric']}")
        except Exception as e:  # noqa: BLE001 - reported per job at the end
            rec["status"] = "failed"
            rec["error"] = f"{type(e).__name__}: {e}"
            rec["traceback"] = traceback.format_exc()
        job_dir.mkdir(parents=True, exist_ok=True)
        with open(job_dir / RESULT_FILE, "w", encoding="utf-8") as fh:
            fh.write(json_dumps(rec, indent=2, default=str))
        if rec["status"] == "ok":
            return rec["metric"]
        if sweeper == "optuna":  # optuna records a raised job as a FAIL trial (not nan)
            raise SweepJobFailed(rec["error"])
        return float("nan")  # the basic sweeper would abort on a raised job

    argv = [sys.argv[0] if sys.argv else "ktrain", "--multirun",
            "hydra.job.name=ktrain",
            f"hydra.sweep.dir={sweep_dir.as_posix()}",
            "hydra.sweep.subdir=${hydra.job.num}",
            "hydra.job.chdir=False"]
    if not hydra_logging:
        argv += ["hydra/job_logging=disabled", "hydra/hydra_logging=disabled"]
    if sweeper == "optuna":
        argv += ["hydra/sweeper=optuna",
                 f"hydra.sweeper.direction={'maximize' if mode == 'max' else 'minimize'}",
                 "hydra.sweeper.max_failure_rate=1.0"]
        if n_trials is not None:
            argv.append(f"hydra.sweeper.n_trials={n_trials}")
        if jobs is not None:
            argv.append(f"hydra.sweeper.n_jobs={jobs}")
    if launcher == "joblib":
        argv.append("hydra/launcher=joblib")
        if jobs is not None:
            argv.append(f"hydra.launcher.n_jobs={jobs}")
    user = _with_shipped_searchpath(schema_overrides(fixed + params, group_dirs(path)),
                                    _read_yaml(path), path)
    argv += user

    main = hydra.main(config_path=str(path.parent), config_name=path.stem,
                      version_base="1.3")(_job)
    from .config.compose import _clear_hydra

    old_argv = sys.argv
    sys.argv = argv
    try:
        _clear_hydra()
        main()
    except SystemExit as e:  # hydra's run_and_report printed the error already
        # jobs that ran are still summarised (e.g. the optuna sweeper raises at the end
        # when no trial completed); no job at all: Hydra rejected the sweep itself
        if e.code not in (0, None) and not any(sweep_dir.glob(f"*/{RESULT_FILE}")):
            raise ConfigError(f"Hydra could not run the sweep (its message is above); "
                              f"sweep dir {sweep_dir}") from None
    finally:
        sys.argv = old_argv
        _clear_hydra()
    return summarise(sweep_dir, monitor=monitor, mode=mode, params=swept)


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def summarise(sweep_dir, monitor="val/accuracy", mode="max", params=None) -> SweepResult:
    """Collect the ``sweep_result.json`` files under ``sweep_dir``, rank them, write
    ``summary.csv`` and ``summary.png``; returns the :class:`SweepResult`."""
    sweep_dir = Path(sweep_dir)
    rows = []
    for f in sorted(sweep_dir.glob(f"*/{RESULT_FILE}")):
        try:
            rows.append(json.loads(f.read_text(encoding="utf-8")))
        except (OSError, ValueError) as e:
            rows.append({"job": f.parent.name, "run_dir": str(f.parent), "params": {},
                         "metrics": {}, "metric": None, "status": "failed",
                         "error": f"unreadable {RESULT_FILE}: {e}"})
    if params is None:
        params = sorted({k for r in rows for k in r.get("params", {})})
    sign = -1.0 if mode == "max" else 1.0

    def key(r):
        ok = r["status"] == "ok" and _finite(r.get("metric"))
        return (0, sign * r["metric"]) if ok else (1, 0.0)

    rows.sort(key=lambda r: (key(r), _num(r.get("job")) or 0))
    for i, r in enumerate(rows, 1):
        r["rank"] = i if r["status"] == "ok" else None
    res = SweepResult(sweep_dir, monitor, mode, list(params), rows)
    if rows:
        res.csv_path = _write_csv(res)
        from ..train._matplotlib import PlotsNotInstalled, notify_skipped

        try:
            res.plot_path = _plot(res)
        except PlotsNotInstalled:  # the optional 'plots' extra: summary.csv is enough
            notify_skipped(["summary.png"], key=("sweep", str(sweep_dir)))
            res.plot_path = None
        except Exception:  # noqa: BLE001 - the plot is a convenience
            res.plot_path = None
    return res


def _write_csv(res: SweepResult) -> Path:
    metric_keys = sorted({k for r in res.rows for k in (r.get("metrics") or {})})
    header = (["rank", "job", "status"] + res.params + [res.monitor]
              + [k for k in metric_keys if k != res.monitor] + ["run_dir", "error"])
    path = res.sweep_dir / "summary.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in res.rows:
            m = r.get("metrics") or {}
            w.writerow([r.get("rank") or "", r.get("job"), r["status"]]
                       + [r.get("params", {}).get(p, "") for p in res.params]
                       + [r.get("metric") if r.get("metric") is not None else ""]
                       + [m.get(k, "") for k in metric_keys if k != res.monitor]
                       + [r.get("run_dir", ""), r.get("error") or ""])
    return path


def _plot(res: SweepResult):
    ok = [r for r in res.rows if r["status"] == "ok" and _finite(r.get("metric"))]
    if not ok or not res.params:
        return None
    from ..train._matplotlib import agg_figure

    Figure, FigureCanvasAgg = agg_figure("the sweep's summary.png")  # no pyplot: no global
    n = len(res.params)                                               # backend switch
    fig = Figure(figsize=(4.0 * n, 3.4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, n, squeeze=False)
    for ax, p in zip(axes[0], res.params):
        raw = [r["params"].get(p) for r in ok]
        ys = [r["metric"] for r in ok]
        xs = [_num(v) for v in raw]
        if all(x is not None for x in xs):
            ax.scatter(xs, ys)
            pos = [x for x in xs if x > 0]
            if len(pos) == len(xs) and max(xs) / min(xs) >= 100:
                ax.set_xscale("log")
        else:
            cats = sorted({str(v) for v in raw})
            ax.scatter([cats.index(str(v)) for v in raw], ys)
            ax.set_xticks(range(len(cats)))
            ax.set_xlim(-0.5, len(cats) - 0.5)
            ax.set_xticklabels(cats, rotation=30, ha="right")
        ax.set_xlabel(p)
        ax.set_ylabel(res.monitor)
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{res.monitor} ({res.mode}) vs swept parameters")
    fig.tight_layout()
    path = res.sweep_dir / "summary.png"
    fig.savefig(path, dpi=100)
    return path
