from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Provinces and tenants"

    def ready(self) -> None:
        from tenants import routing

        routing.connect_invalidation_signals()
