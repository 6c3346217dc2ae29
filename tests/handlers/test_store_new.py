"""`KindHandlers.store_new`: a New form's record is written before the ack, a refusal is shown
by the field it names (when the form has it), and the record is announced after the ack."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from handlers.kind import KindHandlers
from services.errors import InvalidInput, NotAllowed


class _FieldError(InvalidInput):
    """A refusal about one field of the form, as services raise them (`field`)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


VIEW = {"blocks": [{"block_id": "title"}, {"block_id": "start"}]}


class _Ctx:
    def __init__(self) -> None:
        self.handed: list[tuple[Any, tuple[Any, ...]]] = []
        self.db = SimpleNamespace(session=self._session)

    @contextmanager
    def _session(self) -> Any:
        yield "session"

    def follow_up(self, work: Any, *args: Any) -> None:
        self.handed.append((work, args))


class _Acks:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def _store_new(store: Any, error_field: Any = "title") -> tuple[_Ctx, _Acks, KindHandlers]:
    ctx, ack = _Ctx(), _Acks()
    handlers = KindHandlers(ctx)  # type: ignore[arg-type]
    handlers.store_new(ack, VIEW, store, error_field)  # type: ignore[arg-type]
    return ctx, ack, handlers


def test_the_record_is_stored_then_acked_then_announced_after_the_ack() -> None:
    seen: list[Any] = []

    def store(session: Any) -> Any:
        seen.append(session)
        return SimpleNamespace(key="CHG-7")

    ctx, ack, handlers = _store_new(store)
    assert seen == ["session"] and ack.calls == [{}]
    assert ctx.handed == [(handlers.announce, ("CHG-7",))]


def test_a_refusal_naming_a_field_of_the_form_is_shown_there_and_nothing_is_announced() -> None:
    def store(session: Any) -> Any:
        raise _FieldError("start", "Starts after it ends.")

    ctx, ack, _ = _store_new(store)
    assert ack.calls == [
        {"response_action": "errors", "errors": {"start": "Starts after it ends."}}
    ]
    assert ctx.handed == []


def test_other_refusals_go_where_error_field_says() -> None:
    def pick(error: Any) -> str:
        return "title" if isinstance(error, InvalidInput) else "start"

    def frozen(session: Any) -> Any:
        raise NotAllowed("The calendar is frozen.")

    _, ack, _ = _store_new(frozen, pick)
    assert ack.calls[0]["errors"] == {"start": "The calendar is frozen."}
