"""The compose wizard's state: its steps, its typed data, and which presses are current.

The FSM data is one pydantic model per flow (`Wizard` while composing, `Retime` while
an official types a new time for a scheduled notice), read and written only through
`load` and `save`. Every wizard button carries the notice id (`n`) and the number of the
screen it was drawn on (`v`); the screen number goes up with every new screen message,
so `Fresh` lets through only presses on the screen in front of the official, for the
notice being composed, at the step it belongs to. Edits in place (the area picker) keep
their number: two quick taps on one picker are both current.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, TypeVar

from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, TelegramObject
from pydantic import BaseModel, Field

from broadcasts.compose import Draft, review_warnings

M = TypeVar("M", bound=BaseModel)
W = TypeVar("W", bound="Wizard")


class Compose(StatesGroup):
    review = State()
    editing = State()  # waiting for an edited rendition (the review buttons still work)
    targets = State()
    when = State()
    when_text = State()  # waiting for a typed time (the when buttons still work)
    confirm = State()


class Retiming(StatesGroup):
    when_text = State()


class WarningItem(BaseModel):
    code: str
    detail: str = ""
    locale: str | None = None


def warnings_of(draft: Draft) -> list[WarningItem]:
    """The review's warnings of a draft, as the wizard keeps them (Telegram's and Zalo's)."""
    return [
        WarningItem(code=w.code, detail=w.detail or "", locale=w.locale)
        for w in review_warnings(draft.preparation)
    ]


class Wizard(BaseModel):
    """One notice being composed, and the screen the official has in front of them."""

    notice_id: int
    screen: int = 1
    warnings: list[WarningItem] = Field(default_factory=list)
    edit_locale: str = "vi"
    selected: list[int] = Field(default_factory=list)
    view: int = 0  # the opened khu phố (0: the ward's own level)
    page: int = 0
    back_page: int = 0  # the ward-level page to come back to from an opened khu phố
    query: str = ""  # the official's search in the picker
    at: datetime | None = None  # None: send now
    # The «Đã nhận» deadline the official chose (`broadcasts.deadlines`: "" the default).
    deadline: str = ""
    rrule: str | None = None  # repeating (an RRULE from `at`, or from now)

    def next_screen(self) -> Wizard:
        return self.model_copy(update={"screen": self.screen + 1})


class Retime(BaseModel):
    """A scheduled notice whose new time the official is about to type."""

    notice_id: int


async def load(state: FSMContext, model: type[M]) -> M | None:
    raw = (await state.get_data()).get(model.__name__)
    return model.model_validate(raw) if raw is not None else None


async def save(state: FSMContext, step: State, value: BaseModel) -> None:
    """Move to `step` with `value` as the flow's whole data (JSON-safe for Redis)."""
    await state.set_state(step)
    await state.set_data({type(value).__name__: value.model_dump(mode="json")})


async def end(state: FSMContext, model: type[BaseModel]) -> None:
    """Leave the flow `model` belongs to, if it is the current one (and only then)."""
    if await load(state, model) is not None:
        await state.clear()


class Bound(Protocol):
    """Callback data of a wizard screen: the notice and the screen it was drawn on."""

    n: int
    v: int


class At(Filter):
    """An update at one of `steps` of a flow; hands the handler its data as `key`."""

    def __init__(self, *steps: State, model: type[BaseModel] = Wizard, key: str = "wizard") -> None:
        self._steps = {step.state for step in steps}
        self._model = model
        self._key = key

    async def __call__(
        self, event: TelegramObject, state: FSMContext, raw_state: str | None
    ) -> bool | dict[str, Any]:
        if raw_state not in self._steps:
            return False
        value = await load(state, self._model)
        return {self._key: value} if value is not None else False


class Fresh(Filter):
    """A press on the wizard's current screen at one of `steps`; hands over `wizard`."""

    def __init__(self, *steps: State) -> None:
        self._steps = {step.state for step in steps}

    async def __call__(
        self, query: CallbackQuery, callback_data: Bound, state: FSMContext, raw_state: str | None
    ) -> bool | dict[str, Any]:
        if raw_state not in self._steps:
            return False
        wizard = await load(state, Wizard)
        if wizard is None or (callback_data.n, callback_data.v) != (
            wizard.notice_id,
            wizard.screen,
        ):
            return False
        return {"wizard": wizard}


def picked(wizard: W, *, action: str, area_id: int) -> W:
    """The picker after one press: choose or unchoose, open, come back, turn a page."""
    if action == "toggle":
        chosen = set(wizard.selected) ^ {area_id}
        return wizard.model_copy(update={"selected": sorted(chosen)})
    if action == "open":
        return wizard.model_copy(update={"view": area_id, "back_page": wizard.page, "page": 0})
    if action == "back":
        return wizard.model_copy(update={"view": 0, "page": wizard.back_page})
    if action == "page":
        return wizard.model_copy(update={"page": max(0, area_id)})
    if action == "clear":
        return wizard.model_copy(update={"query": "", "page": 0, "view": 0})
    return wizard
