"""Finding W&B credentials and the server before asking wandb for anything (the logging
hook and the leaderboard share it).

``wandb.Api()`` prompts for an API key on a terminal (and fails elsewhere), then verifies
it over the network; an online ``wandb.init`` waits for its ``init_timeout`` and more
without a network. The leaderboard checks first, the way wandb would look, so that no
key is one clear error and no server a bounded wait: never a prompt, never a hang.
"""

from __future__ import annotations

import contextlib
import os
from urllib.parse import urlparse

from ..errors import UserError

__all__ = [
    "WandbCredentialsError",
    "WandbUnreachableError",
    "has_credentials",
    "reachable",
    "require_credentials",
    "server_url",
]


# How long to wait for the W&B server before running offline (seconds).
PROBE_TIMEOUT_S = 3.0


class WandbFallbackWarning(UserWarning):
    """W&B runs offline instead of online; the message says why."""


class WandbCredentialsError(UserError, PermissionError):
    """No W&B API key where wandb looks for one, or a malformed one."""


class WandbUnreachableError(UserError, ConnectionError):
    """The W&B server did not answer within the timeout, or refused the key."""


def server_url() -> str:
    """The server ``wandb.Api()`` talks to: ``WANDB_BASE_URL``, else wandb's settings."""
    import wandb

    try:
        from wandb.sdk import wandb_setup

        default = wandb_setup.singleton().settings.base_url
    except (ImportError, AttributeError):  # a wandb that moved its settings: its default
        default = None
    return (wandb.env.get_base_url(default) or "https://api.wandb.ai").rstrip("/")


def has_credentials(url: str) -> bool:
    """Whether wandb would find an API key for ``url`` (``WANDB_API_KEY``, the netrc entry
    ``wandb login`` writes, ...) without prompting; :class:`WandbCredentialsError` for a
    key wandb rejects on sight (too short)."""
    import wandb

    try:
        from wandb.sdk.lib import wbauth
    except ImportError:  # wandb moved its auth module: the places the hook looks
        return _netrc_credentials(urlparse(url).hostname or url)
    try:
        auth = wbauth.authenticate_session(
            host=url, source="tools/leaderboard.py", prompt=False, update_session=False
        )
    except wandb.errors.AuthenticationError as exc:
        raise WandbCredentialsError(
            f"W&B credentials for {url} are malformed: {exc}. Set WANDB_API_KEY to your "
            "API key (W&B user settings, API keys), or run `wandb login --relogin`"
        ) from exc
    return auth is not None


def require_credentials(url: str, *, purpose: str) -> None:
    """:class:`WandbCredentialsError`, saying where wandb looks and what ``purpose``
    needs, unless :func:`has_credentials`."""
    if not has_credentials(url):
        netrc = os.environ.get("NETRC") or "~/.netrc"
        raise WandbCredentialsError(
            f"{purpose} needs a W&B API key for {url}, and none is set: export "
            f"WANDB_API_KEY=<your API key> (W&B user settings, API keys) or run "
            f"`wandb login` (it writes {netrc}); for a self-hosted server set "
            "WANDB_BASE_URL too"
        )


def _netrc_credentials(host: str) -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    import netrc

    try:
        return netrc.netrc().authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def reachable(url: str, timeout: float) -> bool:
    """Whether the W&B server answers ``GET /healthz`` with 200 within ``timeout`` s.

    A TCP connect is not enough: proxies and sandboxes accept connections to any
    address. Runs in a thread because name resolution has no timeout of its own.
    """
    import threading
    from urllib.request import urlopen

    ok = []

    def probe() -> None:
        try:
            with urlopen(f"{url.rstrip('/')}/healthz", timeout=timeout) as response:
                ok.append(response.status == 200)
        except Exception:
            ok.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(ok and ok[0])


def teardown(timeout_s: float = 20.0) -> bool:
    """``wandb.teardown()``, bounded: it waits for wandb's service process without a
    timeout, and that process can hang (seen after a sign-in to an unreachable server).
    After ``timeout_s`` the service process is killed, which ends the wait. Returns
    whether the teardown finished on its own."""
    import threading

    import wandb

    def run() -> None:
        # A service that is gone already raises: nothing is left to flush then.
        with contextlib.suppress(Exception):
            wandb.teardown()

    thread = threading.Thread(target=run, daemon=True, name="wandb-teardown")
    thread.start()
    thread.join(timeout_s)
    if not thread.is_alive():
        return True
    for pid in _service_processes():
        with contextlib.suppress(OSError):
            os.kill(pid, 9)
    thread.join(10)
    return False


def _service_processes() -> list[int]:
    """This process's wandb-core children (from /proc: no psutil needed)."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.find("(") + 1 : stat.rfind(")")]
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        if ppid == me and name.startswith("wandb-core"):
            found.append(int(entry))
    return found
