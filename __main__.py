"""eci-aircall: configure Einstein Conversation Insights for the Aircall voice connector in a Salesforce org.

Stack config (namespace ``eci-aircall``, see Pulumi.yaml) → ``EciAircallIntegration`` → stack outputs.
"""

import pulumi

from components.eci_aircall import EciAircallIntegration
from providers.config.stack import load

# Raises one ConfigError listing every bad or missing key before any resource is registered (0 API calls).
config = load()
eci = EciAircallIntegration("eci-aircall", config)

pulumi.export("integrationUserUsername", eci.integration_user_username)
pulumi.export("integrationUserId", eci.integration_user_id)
pulumi.export("callbackUrl", eci.callback_url)
pulumi.export("oauthAppName", eci.oauth_app_name)
pulumi.export("oauthConsumerKey", eci.oauth_consumer_key)
pulumi.export("siteUrl", eci.site_url)
pulumi.export("namedCredentialNames", eci.named_credential_names)
pulumi.export("nextManualStep", eci.next_manual_step)
pulumi.export("health", eci.health)
pulumi.export("anonymousApex", eci.anonymous_apex)
