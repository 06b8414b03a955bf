"""Run configs: Hydra composition of YAML files and typed validation (part of the
application layer, :mod:`ktrain.app`; ``ktrain.config`` names this same package).

    from ktrain.config import compose_config, validate
    cfg = compose_config("conf/mlp_synthetic.yaml", ["optim=adam", "optim.lr=0.01"])
    run = validate(cfg)          # RunConfig, or one ConfigError listing every problem
    print(to_yaml(cfg))
"""
from .compose import (compose_config, conf_dir, load_run_config, plugin_conf_dirs,
                      save_run_config, to_yaml)
from .schema import (
                     ComponentConfig,
                     ConfigError,
                     DataConfig,
                     OptimConfig,
                     RunConfig,
                     SchedConfig,
                     TaskConfig,
                     TrainerConfig,
                     to_container,
                     validate,
)

__all__ = [
                     "ComponentConfig",
                     "ConfigError",
                     "DataConfig",
                     "OptimConfig",
                     "RunConfig",
                     "SchedConfig",
                     "TaskConfig",
                     "TrainerConfig",
                     "compose_config",
                     "conf_dir",
                     "load_run_config",
                     "plugin_conf_dirs",
                     "save_run_config",
                     "to_container",
                     "to_yaml",
                     "validate",
]
