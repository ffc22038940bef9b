pytest_plugins = ("torchkata.plugin",)
