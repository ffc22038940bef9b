pytest_plugins = ("torchkata.engine.plugin",)
