from django.apps import AppConfig


class MallConfig(AppConfig):
    name = "mall"
    verbose_name = "Mal Pelayanan Publik"
