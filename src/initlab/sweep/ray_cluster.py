"""Starting or reaching Ray for a sweep: a local instance, or a cluster by address (Ray 2.60).

Ray 2.60 turns token authentication on for a head started with ``ray start --head`` whenever a token
exists (``~/.ray/auth_token``, which any local ``ray.init()`` writes, ``RAY_AUTH_TOKEN_PATH`` or
``RAY_AUTH_TOKEN``), but a driver given an explicit address does not send it. :func:`connect` sends
it the way Ray itself does for ``address="auto"``: when ``RAY_AUTH_MODE`` is unset and a token is
found (``RAY_AUTH_MODE=disabled`` opts out). On a machine other than the head, give it the head's
token (``ray get-auth-token`` on the head prints it) as ``RAY_AUTH_TOKEN``.

Ray also replaces a loopback address (``127.0.0.1:6379``) with the machine's interface address
before connecting, so a head kept on loopback (``--node-ip-address 127.0.0.1`` with
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``) cannot be reached; for a loopback address :func:`connect`
keeps Ray on loopback, and so it does for the local instance it starts without an address.

The tasks' workers get the driver's ``sys.path`` as their ``PYTHONPATH`` (and Ray adds the driver's
current directory), so they import the user's models as the driver does; on a cluster of several
machines, the same paths must hold the same code on each.
"""

from __future__ import annotations

import ipaddress
import math
import os
from types import ModuleType

from initlab.errors import ConfigError
from initlab.imports import search_path

#: The Ray versions this module follows (``pip install 'initlab[ray]'`` installs one).
SUPPORTED = "2.60"


def import_ray() -> ModuleType:
    """The ``ray`` module, or a ConfigError saying how to install it or that its version differs."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "executor 'ray' needs Ray, which is not installed: pip install 'initlab[ray]'"
        ) from None
    if ray.__version__.rsplit(".", 1)[0] != SUPPORTED:
        raise ConfigError(
            f"executor 'ray' needs Ray {SUPPORTED}.x, not {ray.__version__}: pip install 'initlab[ray]'"
        )
    return ray


def connect(ray: ModuleType, address: str | None, num_cpus: float) -> None:
    """``ray.init``: a local instance with ``num_cpus`` CPUs (no address), else the cluster at
    ``address``; a ConfigError naming the address if Ray cannot start or reach it."""
    runtime_env = {"env_vars": {"PYTHONPATH": os.pathsep.join(search_path())}}
    try:
        if address:
            _send_token_if_found()
            if is_loopback(address):
                _keep_on_loopback()
            ray.init(address=address, runtime_env=runtime_env)
        else:  # a new local instance, even where a cluster runs; it serves this machine only
            _keep_on_loopback()
            ray.init(
                address="local",
                num_cpus=math.ceil(num_cpus),
                include_dashboard=False,
                runtime_env=runtime_env,
            )
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.AuthenticationError) as exc:
        hint = (
            "; give the address `ray start --head` printed and, if the head has token authentication "
            "on, its token (`ray get-auth-token` on the head) as RAY_AUTH_TOKEN"
            if address
            else ""
        )
        where = address or "local"
        raise ConfigError(f"cannot start or reach Ray (address {where!r}): {exc}{hint}") from None


def is_loopback(address: str) -> bool:
    """Whether ``address`` (``host:port``) names this machine's loopback interface."""
    host = address.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _send_token_if_found() -> None:
    """Ray's rule for ``address="auto"``: token mode when ``RAY_AUTH_MODE`` is unset and a token exists."""
    from ray._private.authentication.authentication_token_setup import (
        maybe_enable_token_auth_if_token_available,
    )

    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def _keep_on_loopback() -> None:
    """What ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` does when Ray is imported: this node's address is
    127.0.0.1, and loopback addresses are not replaced by the interface's."""
    from ray._private import ray_constants

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
