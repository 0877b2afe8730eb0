"""The base class of errors meant for the user, not for a traceback.

Command-line tools catch :class:`UserError`, print its message and exit non-zero;
each subclass also derives from the matching builtin (``FileNotFoundError``,
``ValueError``, ...) so library callers can catch what they expect.
"""


class UserError(Exception):
    """An error whose message says what is wrong, where, and how to fix it."""
