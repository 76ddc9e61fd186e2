"""The embedded demo LaunchDarkly account: a deterministic, realistic generator and the API serving it.

Files by job: ``catalog`` (people, products, value sets), ``generator`` (the schedule of flags and
changes), ``replay`` (changes turned into ``FlagEventRep``s), ``account`` (what is served), ``api`` (one
pure handler answering LaunchDarkly's REST routes), ``transport`` (in-process) and ``server`` (real HTTP).

The dashboard, the tests and the benchmarks all need an account that behaves like a busy real one
(release trains, progressive rollouts, rollbacks, flapping kill switches, stale flags, experiments)
without a LaunchDarkly token. Everything comes from ``random.Random`` instances seeded from ``seed``
and from ``now_ms``, so the same pair always gives the same account, byte for byte.

Shapes follow LaunchDarkly's REST API (``Project``, ``Environment``, ``FeatureFlag``,
``FlagStatusRep``, ``FlagEventRep``) so the demo server can serve them unchanged.

Event types (``eventType``) used by the demo, with the resource actions they carry:

* ``flag-created``    global, actions ``["createFlag"]``
* ``flag-updated``    per environment (serving and targeting changes: ``updateOn``, ``updateFallthrough``,
  ``updateRules``, ``updateTargets``, ``updateOffVariation``, ``updatePrerequisites``) or global
  (``updateName``, ``updateTags``, ``updateDescription``, ``updateFlagVariations``)
* ``flag-deprecated`` global, actions ``["updateDeprecated"]``
* ``flag-archived``   global, actions ``["updateGlobalArchived"]``

Global events have no ``environmentId``/``environmentKey`` and an impact of size ``none``.
Impact ``percentage`` is the total variation distance between the before and after evaluation
distributions, times 100, rounded to 2 decimals; ``size`` follows it (0 none, <20 small,
20-80 medium, >80 large).
"""

from ..vocabulary import impact_size
from .account import DemoAccount, make_events
from .api import FLAG_EVENTS_PATH, DemoApi, DemoFaults, RequestStats
from .catalog import EVENT_TYPES, default_now_ms, iso_ms
from .generator import generate_account
from .server import (
    RunningServer,
    add_cli_arguments,
    faults_from_args,
    serve,
    serve_from_args,
    start_server_in_thread,
)
from .transport import DemoTransport

__all__ = [
    "EVENT_TYPES",
    "FLAG_EVENTS_PATH",
    "DemoAccount",
    "DemoApi",
    "DemoFaults",
    "DemoTransport",
    "RequestStats",
    "RunningServer",
    "add_cli_arguments",
    "default_now_ms",
    "faults_from_args",
    "generate_account",
    "impact_size",
    "iso_ms",
    "make_events",
    "serve",
    "serve_from_args",
    "start_server_in_thread",
]
