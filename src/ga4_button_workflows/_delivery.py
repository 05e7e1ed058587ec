"""One error for several failed deliveries, retried only when a retry can help."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.exceptions import ApplicationError

__all__ = ["combined_failure"]


def combined_failure(
    failures: Sequence[tuple[str, BaseException]], *, message: str, error_type: str
) -> ApplicationError:
    """Return one ``ApplicationError`` for ``(where, error)`` failures.

    It is non-retryable only when every failure was (a 404 everywhere), and
    waits as long as the longest ``next_retry_delay`` any of them asked for
    (a 429's ``Retry-After``).

    Args:
        failures: Where each delivery went, and how it failed.
        message: The start of the message; the failures follow it.
        error_type: The ``ApplicationError`` type.
    """
    summary = "; ".join(f"{where}: {error}" for where, error in failures)
    application_errors = [
        error for _, error in failures if isinstance(error, ApplicationError)
    ]
    permanent = len(application_errors) == len(failures) and all(
        error.non_retryable for error in application_errors
    )
    delays = [
        error.next_retry_delay
        for error in application_errors
        if error.next_retry_delay is not None
    ]
    return ApplicationError(
        f"{message}: {summary}",
        type=error_type,
        non_retryable=permanent,
        next_retry_delay=max(delays) if delays else None,
    )
