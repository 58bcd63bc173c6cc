from django.apps import AppConfig


class LocalCatalogConfig(AppConfig):
    name = "catalog.local"
    label = "local_catalog"
    verbose_name = "Local catalogue"
