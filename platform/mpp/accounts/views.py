"""Sign-in and invitation pages; they work on the apex and on every tenant host alike."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from mpp.accounts.actions import accept_invitation, find_invitation
from mpp.accounts.forms import SetPasswordForm


def accept_invitation_view(request: HttpRequest, token: str) -> HttpResponse:
    """Let an invited user choose a password, once."""
    invitation = find_invitation(token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    form = SetPasswordForm(invitation.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = accept_invitation(token, form.cleaned_data["password1"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Kata sandi tersimpan. Selamat datang.")
            return redirect("/")
    return render(
        request, "accounts/accept_invitation.html", {"form": form, "invitation": invitation}
    )


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True
