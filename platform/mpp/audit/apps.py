from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "mpp.audit"
    label = "audit"
    verbose_name = "Audit log"
