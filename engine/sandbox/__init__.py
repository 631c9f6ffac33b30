"""The sandbox diagram scripts and expressions run in.

Script tasks, gateway conditions, timer and due-time expressions, multi-instance collections,
pre- and post-scripts and DMN cells are written by process owners, not by us:

* ``policy`` — compile time: the source is parsed and checked (size, nesting, constants)
  before compiling; RestrictedPython's policy plus our refusals and rewrites;
* ``attributes`` — an allowlist of attributes per type, with size-checked wrappers for the
  methods that build large values;
* ``guards`` — every operator, f-string field and ``except`` clause checked at run time;
* ``tracer`` — the time and memory limits, enforced from a trace function in any thread;
* ``limits`` — every limit, its setting and default (``SandboxLimits.from_environ``);
* ``storable`` — which values case data can keep;
* ``simple`` — which scripts are simple enough to run in the server process;
* ``script_processes`` / ``script_process`` — the pool of worker processes under RLIMIT_AS and
  RLIMIT_CPU that runs every other script, killed and replaced on time-out (``wire``: their
  answers, as JSON data only);
* ``environment`` — the SpiffWorkflow script engine running all of it.
"""

from engine.sandbox.environment import SandboxedScriptEngine, SandboxEnvironment
from engine.sandbox.guards import FORBIDDEN_NAMES
from engine.sandbox.limits import SandboxLimits, ScriptLimitExceeded
from engine.sandbox.policy import SCRIPT_FILENAME, SandboxPolicy, check_source

MAX_INT_BITS = SandboxLimits.max_int_bits
MAX_SEQUENCE_ITEMS = SandboxLimits.max_items

__all__ = [
    "FORBIDDEN_NAMES",
    "MAX_INT_BITS",
    "MAX_SEQUENCE_ITEMS",
    "SCRIPT_FILENAME",
    "SandboxEnvironment",
    "SandboxLimits",
    "SandboxPolicy",
    "SandboxedScriptEngine",
    "ScriptLimitExceeded",
    "check_source",
]
