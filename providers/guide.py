"""The fixed names and values of "Einstein Conversation Insights Aircall Configuration Guide" (Winter '25),
declared once for the providers (their defaults), the component and the tools.

Where the guide says "Important: Use this exact name." the ECI service looks the artifact up by that name, so
none of these is configurable.
"""

from __future__ import annotations

from typing import Final

# "Set Up the Connected App": Connected App Name / API Name.
CONNECTED_APP_NAME: Final = "ECI_Connected_App"
CONNECTED_APP_LABEL: Final = "ECI Connected App"
# "Add ECI as an Authorized Provider": Name / URL Suffix, provider type Salesforce.
AUTH_PROVIDER_NAME: Final = "ECI_Auth_Provider"
AUTH_PROVIDER_LABEL: Final = "ECI Auth Provider"
# "Set Up the Salesforce Site": Site Label / Site Name, Active Site Home Page SiteLogin, Clickjack Protection
# Level "Allow framing by the same origin only".
SITE_NAME: Final = "VoiceConnector"
SITE_HOME_PAGE: Final = "SiteLogin"
SITE_CLICKJACK_PROTECTION: Final = "SameOriginOnly"
# "Add Aircall Named Credentials": Label and Name Aircall.
AIRCALL_NAMED_CREDENTIAL: Final = "Aircall"
# "Add ECI Named Credentials": Label ECI Named Credential, Name ECI_Named_Credential, Scope.
ECI_NAMED_CREDENTIAL: Final = "ECI_Named_Credential"
ECI_NAMED_CREDENTIAL_LABEL: Final = "ECI Named Credential"
ECI_OAUTH_SCOPE: Final = "refresh_token web api content"

# The guide's tasks, in its order ("Configure Aircall with Einstein Conversation Insights", CONTENTS): the
# rows of the status report (tools/status.py), which says of each whether the org has it done.
TASK_INTEGRATION_USER: Final = "Log In as the Integration User"
TASK_AIRCALL_API_KEY: Final = "Generate the API Key for Aircall"
TASK_AIRCALL_NAMED_CREDENTIAL: Final = "Add Aircall Named Credentials"
TASK_CONNECTED_APP: Final = "Set Up the Connected App"
TASK_AUTH_PROVIDER: Final = "Add ECI as an Authorized Provider"
TASK_SITE: Final = "Set Up the Salesforce Site"
TASK_ECI_NAMED_CREDENTIAL: Final = "Add ECI Named Credentials"
TASK_GUEST_USER_PERMISSION_SETS: Final = "Assign the Guest User Permission Set"
TASKS: Final = (
    TASK_INTEGRATION_USER,
    TASK_AIRCALL_API_KEY,
    TASK_AIRCALL_NAMED_CREDENTIAL,
    TASK_CONNECTED_APP,
    TASK_AUTH_PROVIDER,
    TASK_SITE,
    TASK_ECI_NAMED_CREDENTIAL,
    TASK_GUEST_USER_PERMISSION_SETS,
)
# "Add ECI Named Credentials" steps 5-6: the one step a person does (log in as the integration user and
# click Authorize).
MANUAL_STEP: Final = f"Authorize {ECI_NAMED_CREDENTIAL} as the integration user"
