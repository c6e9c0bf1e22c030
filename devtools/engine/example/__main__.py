"""The engine's example program: PermissionSet `first`, and `second` whose Description holds first's Id."""

import pulumi
from example_provider import PermissionSet

config = pulumi.Config()
first = PermissionSet(
    "first",
    api_name=config.get("firstName") or "Engine_Example_First",
    label=config.get("firstLabel") or "Engine Example First",
    description=config.require_secret("note"),
)
pulumi.export("first_id", first.record_id)
if config.get_bool("withSecond") is not False:
    second = PermissionSet(
        "second",
        api_name=config.get("secondName") or "Engine_Example_Second",
        label=config.get("secondLabel") or "Engine Example Second",
        description=first.record_id.apply(lambda rid: f"follows {rid}"),
    )
    pulumi.export("second_id", second.record_id)
