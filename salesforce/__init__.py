"""The Salesforce transport, knowing no artifact: connection settings, the one client every call goes
through (login, session renewal, retries), the error type and secret redaction.

    settings.py   ConnectionSettings: the connection, with the config keys behind it (handed in)
    client.py     SalesforceClient: the one chokepoint (REST, SOQL, Metadata SOAP, Connect REST)
    errors.py     SalesforceError (a failure) / UsageError (ours, for the user to fix), and the mapping of
                  every library's failure onto them
    redaction.py  scrub(): no secret in an exception or a log record
"""

from salesforce.client import (
    RETRY_ATTEMPTS,
    SalesforceClient,
    client_for,
    metadata_wsdl_client,
    reset_clients,
    retry_base_seconds,
    soql_quote,
    url_quote,
)
from salesforce.errors import (
    DAILY_LIMIT_HINT,
    DUPLICATE_CODES,
    NOT_FOUND_CODES,
    TRANSIENT_CODES,
    ConfigurationError,
    SalesforceError,
    UsageError,
)
from salesforce.redaction import register_secret, scrub
from salesforce.settings import ConnectionKeys, ConnectionSettings, jwt_audience

__all__ = [
    "DAILY_LIMIT_HINT",
    "DUPLICATE_CODES",
    "NOT_FOUND_CODES",
    "RETRY_ATTEMPTS",
    "TRANSIENT_CODES",
    "ConfigurationError",
    "ConnectionKeys",
    "ConnectionSettings",
    "SalesforceClient",
    "SalesforceError",
    "client_for",
    "jwt_audience",
    "metadata_wsdl_client",
    "register_secret",
    "reset_clients",
    "retry_base_seconds",
    "scrub",
    "soql_quote",
    "url_quote",
    "UsageError",
]
