"""User and invitation models.

The same tables exist in the public schema (platform operators, province admins) and in
every tenant schema (that tenant's staff): a tenant's users cannot sign in anywhere else.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    """Users are identified by e-mail address, not by a separate username."""

    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("an e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", User.Role.OPERATOR)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in. Citizens do not need accounts to use a portal."""

    class Role(models.TextChoices):
        OPERATOR = "operator", _("Operator platform")
        PROVINCE_ADMIN = "province_admin", _("Admin provinsi")
        TENANT_ADMIN = "tenant_admin", _("Admin daerah")
        OFFICER = "officer", _("Petugas")

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail"), unique=True)
    full_name = models.CharField(_("nama lengkap"), max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.OFFICER)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()  # type: ignore[misc]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_operator(self) -> bool:
        return self.is_active and (self.is_superuser or self.role == self.Role.OPERATOR)


class Invitation(models.Model):
    """A one-time link by which an invited user sets their password."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    # Only the SHA-256 of the token is stored: a database dump does not hand out logins.
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation for {self.user}"

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()
