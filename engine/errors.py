"""Domain exceptions: every outcome a command can refuse with, on one base class."""

from __future__ import annotations

from typing import Any

from engine.user_messages import Message


class EngineError(Exception):
    """A command could not be carried out; the message is meant for the user."""

    code = "engine_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(EngineError):
    """The instance, task, definition or user does not exist."""

    code = "not_found"


class PermissionDenied(EngineError):
    """The actor's roles do not allow this command."""

    code = "forbidden"


class DutiesNotSeparated(PermissionDenied):
    """The actor did an earlier step of the case that this step must be kept apart from."""

    code = "duties_not_separated"

    def __init__(self, message: str, step: str) -> None:
        super().__init__(message, step=step)
        self.step = step


class TaskAlreadyCompleted(EngineError):
    """Someone completed the task first."""

    code = "already_completed"

    def __init__(self, message: str, completed_by: str | None, completed_at: Any = None) -> None:
        super().__init__(message, completed_by=completed_by, completed_at=completed_at)
        self.completed_by = completed_by
        self.completed_at = completed_at


class TaskNotAvailable(EngineError):
    """The task is not open for this command (claimed by someone else, cancelled, not ready)."""

    code = "task_not_available"


class InstanceNotActive(EngineError):
    """The instance is suspended, terminated, completed or in error."""

    code = "instance_not_active"


class ConcurrentModification(EngineError):
    """The instance changed under us between load and save."""

    code = "conflict"


class FormInvalid(EngineError):
    """Submitted form data failed validation; ``errors`` maps field key to messages (codes)."""

    code = "form_invalid"

    def __init__(self, message: str, errors: dict[str, list[Message]]) -> None:
        super().__init__(message, errors=errors)
        self.errors = errors
        self.summary = Message("form.invalid_form")


class DeploymentInvalid(EngineError):
    """The files to deploy have problems; ``problems`` lists each with its element."""

    code = "deployment_invalid"

    def __init__(self, message: str, problems: list[Any]) -> None:
        super().__init__(message, problems=problems)
        self.problems = problems


class ScriptError(EngineError):
    """A script or expression broke a sandbox rule, timed out or raised."""

    code = "script_error"


class SignatureNotGiven(EngineError):
    """A signed step was submitted without the signer's password, or with a wrong one."""

    code = "signature_not_given"

    def __init__(self, message: str, reason: str, meaning: str) -> None:
        super().__init__(message, reason=reason, meaning=meaning)
        self.reason = reason
        self.meaning = meaning
