from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "stats"
    verbose_name = "Province statistics rollup"

    def ready(self) -> None:
        from stats import builtin

        builtin.connect_signals()
