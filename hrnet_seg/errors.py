"""The base class of errors meant for the user, not for a traceback.

Command-line tools catch :class:`UserError`, print its message and exit non-zero;
each subclass also derives from the matching builtin (``FileNotFoundError``,
``ValueError``, ...) so library callers can catch what they expect.
"""


class UserError(Exception):
    """An error whose message says what is wrong, where, and how to fix it."""


class ConfigValueError(UserError, ValueError):
    """A config value of the wrong type or out of range; the message names the key.
    Here, not in :mod:`hrnet_seg.engine.config`, so that the layers below the engine
    (datasets, models) can name a config key too."""


def user_message(exc: BaseException) -> str:
    """The message of ``exc`` without a worker's traceback.

    Errors raised in DataLoader workers come back as ``Caught X in DataLoader worker
    process 0. Original Traceback ...: X: message``; the user needs the message.
    """
    text = str(exc)
    marker = f"{type(exc).__name__}: "
    if "Original Traceback" in text and marker in text:
        text = text[text.rindex(marker) + len(marker) :]
    return text.strip()


def run_tool(main, *, also: tuple[type[BaseException], ...] = ()) -> int:
    """Run a tool's ``main()``; a :class:`UserError` (or one of ``also``, for a tool
    whose library reports bad arguments with builtin errors) prints ``error: ...`` and
    returns 2."""
    import sys

    try:
        return main() or 0
    except (UserError, *also) as exc:
        print(f"error: {user_message(exc)}", file=sys.stderr)
        return 2
