"""descpipe's exceptions: each C++ error type is a Python class with the same one-line message.

``Error`` is the base of all of them; ``InvalidInputError`` is also a ``ValueError`` (bad data,
options or arguments) and ``IoError`` an ``OSError`` (a file that cannot be read or written), so
code that catches the built-in types keeps working.
"""


class Error(Exception):
    """Base class of every error descpipe raises."""


class InvalidInputError(Error, ValueError):
    """The input (data, options, arguments) is invalid: the message names file, column, value."""


class IoError(Error, OSError):
    """A file could not be read or written."""


class NumericalError(Error, ArithmeticError):
    """A numeric computation failed (a singular matrix, an overflow)."""


class CudaError(Error, RuntimeError):
    """A CUDA call failed, or CUDA was asked for in a build without it."""


class InternalError(Error, RuntimeError):
    """A bug in descpipe (an internal check failed): please report it with the message."""


__all__ = ["Error", "InvalidInputError", "IoError", "NumericalError", "CudaError", "InternalError"]
