"""API 2.2's paging of a job's or a run's sub-resources: 100 tasks a page, as Databricks
does. Clients (databricks-sdk's `get`/`get_run`) fetch every page and extend their lists
with each one, so only the first page carries the other lists."""

from __future__ import annotations

from typing import Any

from podium.server.bodies import INT64_MAX
from podium.server.errors import invalid

PER_PAGE = 100


def token_number(page_token: str | None) -> int | None:
    """The number a page token stands for (podium's tokens are offsets or ids), None
    without one; anything else — text, a negative or a number past 64 bits — is a 400."""
    if not page_token:
        return None
    try:
        number = int(page_token)
    except ValueError:
        number = -1
    if not 0 <= number <= INT64_MAX:
        raise invalid(f"Invalid page_token '{page_token}'; pass the next_page_token of the "
                      "previous answer") from None
    return number


def offset_of(page_token: str | None) -> int:
    """The position a page token stands for, 0 without one."""
    return token_number(page_token) or 0


def page_tasks(response: dict[str, Any], holder: dict[str, Any], carried: tuple[str, ...],
               page_token: str | None) -> None:
    """Cut `holder["tasks"]` to the page `page_token` names and set the page tokens on
    `response`; pages after the first leave the `carried` lists empty."""
    start = offset_of(page_token)
    tasks = holder.get("tasks") or []
    holder["tasks"] = tasks[start:start + PER_PAGE]
    if start:
        for key in carried:
            if key in holder:
                holder[key] = []
        response["prev_page_token"] = str(max(0, start - PER_PAGE))
    if start + PER_PAGE < len(tasks):
        response["next_page_token"] = str(start + PER_PAGE)
