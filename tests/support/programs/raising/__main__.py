"""`raising:resources` is a JSON object of resource name → what its create raises (usage, failure,
unexpected, or nothing)."""

import json

import pulumi

from tests.support.raising import Raising

for name, kind in json.loads(pulumi.Config().require("resources")).items():
    Raising(name, kind)
