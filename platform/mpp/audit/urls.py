"""Audit log API, mounted on the apex under /api/v1/audit/."""

from django.urls import path

from mpp.audit.api import AuditEventList

urlpatterns = [path("", AuditEventList.as_view(), name="audit-events")]
