"""The area picker of the compose flow: one page of a ward's tree, for any ward size.

A merged ward in Ho Chi Minh City has 50 to 100+ khu phố, each with its tổ dân phố, and a
chat keyboard holds 100 buttons at most: the picker shows one level at a time, one page
at a time (`PAGE_SIZE` areas), or the areas whose names match what the official typed.
The whole ward and the opened khu phố stay one tap away on every page. A search matches
the start of each word, without diacritics ("to 7" finds "Tổ dân phố 7"), and may name
the khu phố too ("tổ 7 khu phố 133"). Each area carries
the number of group chats under it; the selection's own count has no double counting
(an area inside a chosen one adds nothing).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from broadcasts.areas import AreaNode, area_tree
from broadcasts.compose import channel_counts
from broadcasts.errors import NotFound
from broadcasts.models import Area

PAGE_SIZE = 8
MAX_QUERY_LENGTH = 60
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class PickerItem:
    id: int
    name: str
    groups: int  # active group chats in its subtree
    has_children: bool
    selected: bool
    covered: bool  # inside a selected area
    parent_name: str = ""  # shown with search results, where names repeat ("Tổ 1")


@dataclass(frozen=True, slots=True)
class Picker:
    ward: PickerItem
    opened: PickerItem | None  # the khu phố being looked into; None at the ward's level
    items: list[PickerItem]  # this page
    page: int
    pages: int
    query: str
    matches: int  # areas on every page together
    chosen: list[str]  # the chosen areas, outermost only, in tree order (a tổ with its khu phố)
    chosen_groups: int


def fold(text: str) -> str:
    """Lower case without diacritics: "Khu phố" and "khu pho" match."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _hit(token: str, words: Sequence[str]) -> bool:
    return token in words if token.isdigit() else any(w.startswith(token) for w in words)


def matches(name: str, query: str, parent_name: str = "") -> int:
    """How well an area answers the query: 2 when every word of the query starts a word
    of its name (a number must be the whole number), 1 when the words left are in its
    parent's name ("tổ 7 khu phố 133"), 0 when it does not answer."""
    own = _TOKEN.findall(fold(name))
    parent = _TOKEN.findall(fold(parent_name))
    tokens = _TOKEN.findall(fold(query))
    if not tokens:
        return 0
    if all(_hit(t, own) for t in tokens):
        return 2
    if any(_hit(t, own) for t in tokens) and all(_hit(t, own) or _hit(t, parent) for t in tokens):
        return 1
    return 0


def _walk(node: AreaNode) -> Iterator[tuple[AreaNode, AreaNode]]:
    for child in node.children:
        yield child, node
        yield from _walk(child)


async def area_picker(
    *,
    session: AsyncSession,
    ward_id: int,
    selected: Sequence[int],
    view: int = 0,
    page: int = 0,
    query: str = "",
    page_size: int = PAGE_SIZE,
) -> Picker:
    """One page of the ward's tree: the opened area's children, or the search's matches."""
    ward_area = await session.get(Area, ward_id)
    if ward_area is None:
        raise NotFound(f"area {ward_id} does not exist", area_id=ward_id)
    (ward,) = await area_tree(session=session, root_code=ward_area.code)
    counts = await channel_counts(session=session, ward_id=ward_id)
    parents = {child.id: parent for child, parent in _walk(ward)}
    chosen = set(selected)

    def covered(area_id: int) -> bool:
        parent = parents.get(area_id)
        while parent is not None:
            if parent.id in chosen:
                return True
            parent = parents.get(parent.id)
        return False

    def item(node: AreaNode, parent_name: str = "") -> PickerItem:
        return PickerItem(
            id=node.id,
            name=node.name,
            groups=counts.get(node.id, 0),
            has_children=bool(node.children),
            selected=node.id in chosen,
            covered=covered(node.id),
            parent_name=parent_name,
        )

    query = query.strip()[:MAX_QUERY_LENGTH]
    opened_node = next((n for n, _ in _walk(ward) if n.id == view and n.children), None)
    if query:
        opened_node = None
        ranked = [(matches(n.name, query, p.name), n, p) for n, p in _walk(ward)]
        found = [item(n, p.name) for rank in (2, 1) for r, n, p in ranked if r == rank]
    else:
        found = [item(n) for n in (opened_node or ward).children]
    pages = max(1, math.ceil(len(found) / page_size))
    page = min(max(page, 0), pages - 1)
    tree: list[tuple[AreaNode, AreaNode | None]] = [(ward, None), *_walk(ward)]
    outermost = [(n, p) for n, p in tree if n.id in chosen and not covered(n.id)]
    return Picker(
        ward=item(ward),
        opened=item(opened_node) if opened_node is not None else None,
        items=found[page * page_size : (page + 1) * page_size],
        page=page,
        pages=pages,
        query=query,
        matches=len(found),
        chosen=[
            f"{n.name} ({p.name})" if p is not None and p is not ward else n.name
            for n, p in outermost
        ],
        chosen_groups=sum(counts.get(n.id, 0) for n, _ in outermost),
    )
