"""The province console on the apex: onboarding, tenant lifecycle, dashboard and audit."""
