"""Account actions: inviting a user and accepting an invitation."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from mpp.accounts.models import Invitation, User
from mpp.audit.actions import record_event
from mpp.urls_util import absolute_url
from stats.tasks import schedule_refresh


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_user(
    email: str,
    *,
    role: str,
    host: str,
    acting_user: User | None,
    full_name: str = "",
) -> tuple[User, str]:
    """Create (or reuse) the user for ``email`` in the current schema and e-mail a one-time link.

    ``host`` is the host the link points at (the tenant's or the apex). Returns the user and
    the link; earlier unused invitations of the user stop working.
    """
    email = User.objects.normalize_email(email).strip().lower()
    with transaction.atomic():
        schedule_refresh()
        user, created = User.objects.get_or_create(
            email=email, defaults={"role": role, "full_name": full_name, "is_staff": True}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        Invitation.objects.filter(user=user, used_at__isnull=True).update(expires_at=timezone.now())
        token = secrets.token_urlsafe(32)
        Invitation.objects.create(
            user=user,
            token_hash=_hash(token),
            expires_at=timezone.now() + timedelta(hours=settings.INVITATION_TTL_HOURS),
        )
        # The same pages live under /accounts/ on the apex and /staff/ on a tenant host.
        urlconf = (
            settings.PUBLIC_SCHEMA_URLCONF
            if connection.schema_name == "public"
            else settings.ROOT_URLCONF
        )
        path = reverse("accounts:accept-invitation", args=[token], urlconf=urlconf)
        link = absolute_url(host, path)
        record_event(
            "user.invited", acting_user=acting_user, target=user, after={"role": user.role}
        )
        transaction.on_commit(lambda: _send_invitation(user.email, link))
    return user, link


def _send_invitation(email: str, link: str) -> None:
    send_mail(
        subject="Undangan SatuAtap / SatuAtap invitation",
        message=(
            "Anda diundang untuk mengelola portal Mal Pelayanan Publik di SatuAtap.\n"
            f"Buka tautan ini untuk membuat kata sandi (berlaku {settings.INVITATION_TTL_HOURS} "
            f"jam, sekali pakai):\n\n{link}\n\n"
            "You have been invited to SatuAtap. Open the link above to set your password."
        ),
        from_email=None,
        recipient_list=[email],
    )


def find_invitation(token: str) -> Invitation | None:
    """Return the usable invitation for ``token`` in the current schema, if any."""
    invitation = Invitation.objects.select_related("user").filter(token_hash=_hash(token)).first()
    if invitation is None or not invitation.is_usable:
        return None
    return invitation


def accept_invitation(token: str, password: str) -> User:
    """Set the invited user's password and spend the invitation.

    Raises ``ValidationError`` for an unknown, used or expired link or a weak password.
    """
    with transaction.atomic():
        schedule_refresh()
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("user")
            .filter(token_hash=_hash(token))
            .first()
        )
        if invitation is None or not invitation.is_usable:
            raise ValidationError("Tautan undangan tidak berlaku atau sudah dipakai.")
        user = invitation.user
        validate_password(password, user)
        user.set_password(password)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
        invitation.used_at = timezone.now()
        invitation.save(update_fields=["used_at"])
        record_event("user.invitation_accepted", acting_user=user, target=user)
    return user
