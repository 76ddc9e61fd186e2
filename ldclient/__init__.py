"""Flag Health's data side: LaunchDarkly REST client, demo account, event store and metrics.

Not LaunchDarkly's server SDK, which is also imported as ``ldclient``: run the dashboard in
its own virtual environment so the two never meet.
"""

FLAG_HEALTH = True  # tests check this marker to prove the project's package is the one imported

__version__ = "0.1.0"
