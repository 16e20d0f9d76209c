"""The demo's SMS counters add up (issue 13: the summary said "SMS sent / delivered 206 / 230").

What notifications answers for a payment notice is a snapshot: a delivery receipt can mark a message
delivered (matched by its OutId) before the sender has written the gateway's reference and send time. Such
a message was sent all the same. The counters are read from the messages' final states, so delivered is
never more than sent, and notices = sent + not sent + suppressed. "Sent" means the SMS gateway holds it
(the simulator is asked), so a notice in that race counts as sent whether it was delivered or not."""

import re
import uuid
from pathlib import Path

import httpx
from rich.console import Console

from demo.run import summary_tables
from demo.year.http import Actors, Urls
from demo.year.story import AnnualStory, StoryOptions
from demo.year.summary import PolicyResult

HEADERS = {"Authorization": "Bearer x"}
SENT_AT = "2026-12-08T02:19:19Z"


def notice(state: str, *, reference: str | None = None, sent_at: str | None = None, at_gateway: bool = False) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "template_code": "payment_succeeded",
        "state": state,
        "not_before": SENT_AT,
        "provider": "aliyun" if at_gateway else None,
        "provider_message_id": reference,
        "sent_at": sent_at,
        "at_gateway": at_gateway,  # the SMS simulator holds it (not part of notifications' answer)
    }


# one notice per payee, as notifications answered them at the moment the demo looked
NOTICES = [
    notice("delivered", reference="000000000000002142^0", sent_at=SENT_AT, at_gateway=True),
    notice("delivered", at_gateway=True),  # its receipt came before the send was written
    notice("delivered", at_gateway=True),
    notice("delivered", at_gateway=True),
    notice("failed", reference="000000000000002150^0", sent_at=SENT_AT, at_gateway=True),  # receipt: undelivered
    notice("failed", at_gateway=True),  # the same race, with an "undelivered" receipt
    notice("failed"),  # every gateway refused it: never sent
    notice("expired"),  # too old to send: never sent
    notice("suppressed"),  # no phone
]


def serve(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/v1/messages":
        person = request.url.params["person_id"]
        answer = {k: v for k, v in NOTICES[int(person.rsplit("-", 1)[1])].items() if k != "at_gateway"}
        return httpx.Response(200, json=[answer])
    if request.url.path == "/_sim/messages":
        at_gateway = [{"message_id": m["id"]} for m in NOTICES if m["at_gateway"]]
        return httpx.Response(200, json={"total": len(at_gateway), "messages": at_gateway})
    return httpx.Response(404)


async def counted(tmp_path: Path) -> AnnualStory:
    actors = Actors(HEADERS, HEADERS, HEADERS, HEADERS, HEADERS, HEADERS)
    year = AnnualStory(Urls(), actors, StoryOptions(persons=400, seed=5, workdir=tmp_path))
    await year.http.aclose()
    year.http = httpx.AsyncClient(transport=httpx.MockTransport(serve))
    paid = PolicyResult("rural-reward-assistance", "2026", lines=len(NOTICES))
    paid.paid_payees = [f"payee-{i}" for i in range(len(NOTICES))]
    year.summary.policies.append(paid)
    await year._stage("sms delivered", year.sms)
    await year.http.aclose()
    return year


async def test_the_counters_come_from_final_states_and_add_up(tmp_path: Path) -> None:
    s = (await counted(tmp_path)).summary
    assert s.stage("sms delivered").status == "ok", s.stage("sms delivered").note
    assert (s.sms_notices, s.sms_sent, s.sms_delivered, s.sms_undelivered) == (9, 6, 4, 2)
    assert (s.sms_not_sent, s.sms_suppressed, s.sms_at_simulator) == (2, 1, 6)
    assert s.sms_delivered + s.sms_undelivered == s.sms_sent
    assert s.sms_sent + s.sms_not_sent + s.sms_suppressed == s.sms_notices


async def test_the_summary_row_never_shows_more_delivered_than_sent(tmp_path: Path) -> None:
    summary = (await counted(tmp_path)).summary
    console = Console(width=200, record=True)
    for table in summary_tables(summary):
        console.print(table)
    [row] = [line for line in console.export_text().splitlines() if "SMS" in line]
    numbers = [int(n) for n in re.findall(r"\d+", row)]
    assert "sent" in row and "delivered" in row
    assert row.index("delivered") < row.index("sent")  # "4 delivered of 6 sent", read left to right
    assert numbers[:2] == [4, 6], row
