from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import validate_password


class SetPasswordForm(forms.Form):
    """The form behind an invitation link."""

    password1 = forms.CharField(label="Kata sandi baru", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Ulangi kata sandi", widget=forms.PasswordInput, strip=False)

    def __init__(self, user: object, *args: object, **kwargs: object) -> None:
        self.user = user
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "Kedua kata sandi tidak sama.")
        elif p1:
            try:
                validate_password(str(p1), self.user)  # type: ignore[arg-type]
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data
