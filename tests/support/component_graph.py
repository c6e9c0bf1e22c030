"""What the component builds, as the tests expect it: its children by their names less the component's prefix
(`eci-aircall-` in the demo stack), what each waits for, and which are shared by every voice connector."""

from __future__ import annotations

# The guide's order, reduced to what truly has to exist first.
EXPECTED_CREATE_GRAPH = {
    "preflight": set(),
    "integration-user": {"preflight"},
    "user-eci-access": {"preflight", "integration-user"},
    "user-ci-integration-user": {"preflight", "integration-user"},
    # Waits for the user by choice, not data: a refused username then writes nothing else (component doc).
    "aircall-named-credential": {"preflight", "integration-user"},
    "oauth-consumer": {"preflight"},
    "auth-provider": {"preflight", "oauth-consumer", "integration-user"},
    "oauth-app": {"preflight", "oauth-consumer", "auth-provider"},
    "site": {"preflight", "integration-user"},
    "eci-named-credential": {"preflight", "auth-provider"},
    "site-guest-user": {"preflight", "site"},
    "guest-voice-connector": {"preflight", "site-guest-user"},
    "guest-ci-integration-user": {"preflight", "site-guest-user"},
}


# The artifacts every voice connector in an org shares (README, `sharedEci`).
SHARED = {
    "oauth-consumer",
    "auth-provider",
    "oauth-app",
    "site",
    "eci-named-credential",
    "site-guest-user",
    "guest-voice-connector",
    "guest-ci-integration-user",
}
