from django.apps import AppConfig


class QueueConfig(AppConfig):
    name = "mall.queue"
    label = "queue"
    verbose_name = "Antrean"

    def ready(self) -> None:
        # Registers the "queue" collector of the province statistics rollup.
        from mall.queue import stats  # noqa: F401
