"""Start `awslabs.aws-api-mcp-server` (1.5.6) over stdio on a machine without internet.

Why this exists
---------------
The AWS API MCP server refuses to start offline. Its entry point
(`awslabs.aws_api_mcp_server.server:main`, the console script `awslabs.aws-api-mcp-server`)
builds the index it enforces `READ_OPERATIONS_ONLY` with before it serves anything::

    READ_OPERATIONS_INDEX = get_read_only_operations()
    # = ReadOnlyOperations(ServiceReferenceUrlsByService())

and `ServiceReferenceUrlsByService.__init__` (module
`awslabs.aws_api_mcp_server.core.metadata.read_only_operations_list`) does
`requests.get("https://servicereference.us-east-1.amazonaws.com/", timeout=5)` to map each
service to the URL of its service-reference document. Without network that request fails, the
class raises `RuntimeError`, and `main()` logs "refusing to start" and re-raises.

What exactly it replaces
------------------------
Only that one fetch. Before calling the real `main()`, the module attribute
`read_only_operations_list.ServiceReferenceUrlsByService` is replaced by a subclass of it whose
`__init__` does no request and leaves the mapping empty. `get_read_only_operations()` looks the
name up in its module at call time, so `main()` then builds its `ReadOnlyOperations` index from
an empty URL map. The consequences, all from the server's own code:

* `ReadOnlyOperations` still loads the read-only operations bundled in the package
  (`core/data/api_metadata.json`) plus its hard-coded custom list and `OVERRIDES`; with
  `READ_OPERATIONS_ONLY=true` an operation is allowed only if that metadata calls it read-only.
* For an operation missing from the bundled metadata, `has()` finds no URL for the service and
  answers "not read-only" without any request, so it is refused: the empty index fails closed.
* The per-service fetch (`_cache_ready_only_operations_for_service`) is never reached, because
  it is only used for services present in the (now empty) URL map.

Nothing else about the server is changed: no other function, class or module attribute is
touched, and `main()` is the server's own. The launcher only adds two guards of its own and one
configuration default:

* it refuses to run (exit status 2, a message on stderr, nothing imported from the server)
  unless `READ_OPERATIONS_ONLY=true` is set, and again if the server's own configuration does not
  report read-only mode (e.g. should a later version rename the variable). This is defence in
  depth: the project enforces read-only itself before anything reaches the server.
* it refuses any transport other than stdio (`AWS_API_MCP_TRANSPORT`), the only one it is for.
* it defaults `FASTMCP_CHECK_FOR_UPDATES=off` (a documented FastMCP setting, overridable from
  the environment), so the start-up banner does not ask PyPI for a newer FastMCP either. That
  check is not fatal offline, only slow; it is configuration, not a patch.

If the server's module no longer has the shape this was written against (the class or
`get_read_only_operations` is gone), the launcher stops with exit status 2 rather than start a
server whose start-up it no longer understands.

How to run it
-------------
With the API server's OWN interpreter (this file imports nothing from `agent_config`, which is
not installed in that environment; it uses the standard library and the server's packages)::

    .mcp-envs/aws-api/bin/python agent_config/sandbox/api_server_launcher.py

with an environment such as (see `LocalAws.env()` for the AWS part)::

    READ_OPERATIONS_ONLY=true          # required by this launcher
    AWS_REGION=us-east-1               # required by the server
    AWS_API_MCP_TELEMETRY=false
    AWS_API_MCP_WORKING_DIR=/abs/dir   # must exist
    HOME=/writable/dir                 # the server writes ~/.aws/aws-api-mcp/*.log at import
    AWS_ENDPOINT_URL=http://127.0.0.1:PORT   # a local moto server, in the sandbox
    AWS_SHARED_CREDENTIALS_FILE=... AWS_CONFIG_FILE=... AWS_PROFILE=default

From Python (e.g. an MCP client's `StdioServerParameters`; `agent_config.sandbox.servers` does this)::

    command = str(paths.aws_api_python())
    args = [str(Path(agent_config.sandbox.__file__).with_name("api_server_launcher.py"))]

How to remove it
----------------
When the server gains an offline mode (or stops fetching the index at start-up, or bundles it),
start the console script `.mcp-envs/aws-api/bin/awslabs.aws-api-mcp-server` directly with the
same environment, delete this file and its entry in `[tool.coverage.run] omit`, and keep the
`READ_OPERATIONS_ONLY=true` requirement wherever the command line is built. The integration test
`test_unpatched_server_still_refuses_to_start_offline` fails on the day the real entry point starts
offline by itself: that is the signal.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

READ_ONLY_ENV = "READ_OPERATIONS_ONLY"
TRANSPORT_ENV = "AWS_API_MCP_TRANSPORT"
SERVER_PACKAGE = "awslabs.aws_api_mcp_server"
INDEX_MODULE = f"{SERVER_PACKAGE}.core.metadata.read_only_operations_list"
CONFIG_MODULE = f"{SERVER_PACKAGE}.core.common.config"
SERVER_MODULE = f"{SERVER_PACKAGE}.server"
INDEX_CLASS = "ServiceReferenceUrlsByService"
WRITTEN_FOR_VERSION = "1.5.6"
EXIT_REFUSED = 2


class LauncherRefusal(Exception):
    """The launcher will not start the server; the message says why."""


def _drop_own_directory_from_path() -> None:
    """Run as a script, Python puts this file's folder first on `sys.path`: keep its siblings out."""
    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]


def check_environment(environ: Mapping[str, str]) -> None:
    """Refuse unless read-only mode is requested and the transport is stdio."""
    read_only = environ.get(READ_ONLY_ENV)
    if read_only is None or read_only.casefold() != "true":
        raise LauncherRefusal(
            f"{READ_ONLY_ENV} must be set to 'true' (got {read_only!r}); this launcher only starts "
            "the AWS API MCP server in read-only mode"
        )
    transport = environ.get(TRANSPORT_ENV, "stdio")
    if transport != "stdio":
        raise LauncherRefusal(f"{TRANSPORT_ENV} must be 'stdio' or unset (got {transport!r})")


def install_empty_service_reference_index(index_module: ModuleType) -> None:
    """Replace the start-up download of the service-reference index with an empty index."""
    original = getattr(index_module, INDEX_CLASS, None)
    if not isinstance(original, type) or not issubclass(original, dict):
        raise LauncherRefusal(f"{INDEX_MODULE}.{INDEX_CLASS} is missing or is no longer a dict class")
    if not callable(getattr(index_module, "get_read_only_operations", None)):
        raise LauncherRefusal(f"{INDEX_MODULE}.get_read_only_operations is missing")

    def empty_init(self: dict[str, str]) -> None:
        dict.__init__(self)  # empty: no service -> URL entries, and no request made

    offline_class = type(
        f"Offline{INDEX_CLASS}",
        (original,),
        {
            "__init__": empty_init,
            "__doc__": "Empty service-reference index (no download); see api_server_launcher.",
        },
    )
    setattr(index_module, INDEX_CLASS, offline_class)


def confirm_server_is_read_only() -> None:
    """Defence in depth: the server's own parsed configuration must say read-only too."""
    config = importlib.import_module(CONFIG_MODULE)
    if getattr(config, "READ_OPERATIONS_ONLY_MODE", None) is not True:
        raise LauncherRefusal(
            f"the server's configuration does not report read-only mode ({CONFIG_MODULE}."
            "READ_OPERATIONS_ONLY_MODE is not True)"
        )


def run() -> int:
    """Check, substitute the one start-up fetch, then hand over to the server's real `main()`."""
    _drop_own_directory_from_path()
    try:
        check_environment(os.environ)
        os.environ.setdefault("FASTMCP_CHECK_FOR_UPDATES", "off")
        package = importlib.import_module(SERVER_PACKAGE)
        version = getattr(package, "__version__", "unknown")
        if version != WRITTEN_FOR_VERSION:
            sys.stderr.write(
                f"api_server_launcher: written for {SERVER_PACKAGE} {WRITTEN_FOR_VERSION}, found {version}; "
                "check that the start-up fetch it replaces is still the same\n"
            )
        install_empty_service_reference_index(importlib.import_module(INDEX_MODULE))
        confirm_server_is_read_only()
        server = importlib.import_module(SERVER_MODULE)
    except LauncherRefusal as refusal:
        sys.stderr.write(f"api_server_launcher: refusing to start: {refusal}\n")
        return EXIT_REFUSED
    server.main()  # runs until stdin closes; its own errors propagate with their traceback
    return 0


if __name__ == "__main__":
    sys.exit(run())
