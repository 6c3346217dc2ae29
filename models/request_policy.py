"""The request catalog section of the policy file: what people may ask for, the form they fill
in, who approves and which team fulfils it."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from models.policy_types import USER_OR_GROUP, Strict
from models.sla_policy import Duration

Ident = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")]


class FieldKind(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    SELECT = "select"
    USER = "user"
    DATE = "date"


class FormField(Strict):
    name: Ident
    label: Annotated[str, Field(min_length=1, max_length=80)]
    kind: FieldKind = FieldKind.TEXT
    required: bool = False
    options: list[Annotated[str, Field(min_length=1, max_length=75)]] = []

    @model_validator(mode="after")
    def _options(self) -> FormField:
        if self.kind is FieldKind.SELECT and not self.options:
            raise ValueError(f"field '{self.name}' is a select and needs options")
        if self.kind is not FieldKind.SELECT and self.options:
            raise ValueError(f"field '{self.name}' has options but is not a select")
        return self


class CatalogItem(Strict):
    """`approval`: "none", a user group id (S…) whose members approve, or "manager:<field>"
    naming the form's user field that holds the requester's manager."""

    id: Ident
    name: Annotated[str, Field(min_length=1, max_length=80)]
    description: str = ""
    fields: list[FormField] = []
    approval: str = "none"
    fulfilment_team: Annotated[str, Field(min_length=1, max_length=60)]
    # The service the item is part of: an agreement covering it sets the request's targets.
    service: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    fulfilment_target: Duration = Field(default="3d", validate_default=True)
    response_target: Duration = Field(default="4h", validate_default=True)

    @model_validator(mode="after")
    def _approval(self) -> CatalogItem:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"catalog item '{self.id}' has two fields with the same name")
        if self.approval == "none" or USER_OR_GROUP.match(self.approval):
            return self
        kind, _, field_name = self.approval.partition(":")
        if kind != "manager":
            raise ValueError(
                f"catalog item '{self.id}': approval is \"none\", a user group id (S…) or "
                f"\"manager:<user field>\", not '{self.approval}'"
            )
        field = next((f for f in self.fields if f.name == field_name), None)
        if field is None or field.kind is not FieldKind.USER or not field.required:
            raise ValueError(
                f"catalog item '{self.id}': approval '{self.approval}' must name a required "
                "user field of its form"
            )
        return self

    @property
    def needs_approval(self) -> bool:
        return self.approval != "none"

    @property
    def manager_field(self) -> str | None:
        kind, _, field_name = self.approval.partition(":")
        return field_name if kind == "manager" else None

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.fields if f.name == name), None)


class RequestCatalog(Strict):
    items: list[CatalogItem] = []

    @model_validator(mode="after")
    def _unique(self) -> RequestCatalog:
        ids = [item.id for item in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError("catalog items need distinct ids")
        return self

    def item(self, item_id: str) -> CatalogItem | None:
        return next((item for item in self.items if item.id == item_id), None)
