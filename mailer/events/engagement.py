"""Opens and clicks per link and per story, with machines set apart from people.

The rules (docs/feedback.md says where each comes from):

- An open is a machine's when Apple Mail Privacy Protection fetched it: the
  request came from Apple's own network (17.0.0.0/8) or with the bare user
  agent ``Mozilla/5.0`` that Apple's image proxy sends. MPP downloads every
  image of every message when it arrives, read or not.
- An open or click is a machine's when its user agent names a bot, a
  scanner or a non-browser HTTP library (``SCANNER_AGENT``).
- A click is a machine's when, within ``guardrails.scanner_seconds`` of
  the message's delivery, the same recipient "clicked" at least
  ``guardrails.scanner_links`` distinct links (or every link, when the
  email has fewer): what security gateways do when they follow each link of
  an incoming message. All of that recipient's clicks in the window count as
  the scanner's.

Everything else is a person. Counts are of unique recipients: ``clicks`` on a
link is how many people clicked it (at least once), ``machine_clicks`` how
many recipients had a machine click it. A recipient can appear in both (a
scanner at delivery, the reader later). Report rates use the people only.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from mailer.config import GuardrailSettings
from mailer.db import Database
from mailer.db import engagement as store

APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")
APPLE_PREFIX = "17."  # 17.0.0.0/8 in the dotted quads SES reports
APPLE_PROXY_AGENT = "Mozilla/5.0"
MAX_SQL_AGENTS = 2000
SCANNER_AGENT = re.compile(
    r"bot\b|bot/|crawler|spider|headless|scanner|preview|python-requests|python-urllib|"
    r"aiohttp|curl/|wget/|go-http-client|java/|okhttp|libwww|httpclient|axios/|node-fetch|"
    r"barracuda|proofpoint|mimecast|safelinks|urldefense|trendmicro|symantec|sophos",
    re.IGNORECASE,
)
PERSONAL_LABELS = {
    "link:unsubscribe": "unsubscribe link",
    "link:preferences": "preferences link",
    "link:web": "web version link",
}


def apple_address(ip: str | None) -> bool:
    """Whether ``ip`` lies in Apple's own network, 17.0.0.0/8."""
    # SES reports dotted quads: a prefix test is exact, and cheap enough for
    # every open of a large send (each reader's address differs).
    if not ip or not ip.startswith(APPLE_PREFIX):
        return False
    try:
        return ipaddress.ip_address(ip) in APPLE_NETWORK
    except ValueError:
        return False


def machine_open(agent: str | None, ip: str | None) -> bool:
    """Whether an open was fetched by Apple's privacy proxy or a bot, not read by a person."""
    return machine_open_agent(agent) or apple_address(ip)


def machine_open_agent(agent: str | None) -> bool:
    """Whether an open's user agent is Apple's image proxy or a bot."""
    if (agent or "").strip() == APPLE_PROXY_AGENT:
        return True
    return bool(agent and SCANNER_AGENT.search(agent))


def machine_agent(agent: str | None) -> bool:
    """Whether a user agent is a bot's, a scanner's or an HTTP library's."""
    return bool(agent and SCANNER_AGENT.search(agent))


@dataclass
class LinkStats:
    """One link of the email: its URL, story, and the people and machines who clicked it."""

    url: str
    story: str | None
    tag: str | None
    clicks: int = 0
    machine_clicks: int = 0


@dataclass
class StoryStats:
    """One story: people who clicked any of its links, and machines that did."""

    number: int
    story: str | None
    clicks: int = 0
    machine_clicks: int = 0


@dataclass
class Engagement:
    """A send's opens and clicks, people and machines counted apart (unique recipients)."""

    opens: int = 0
    machine_opens: int = 0
    clicks: int = 0
    machine_clicks: int = 0
    links: list[LinkStats] = field(default_factory=list)
    stories: list[StoryStats] = field(default_factory=list)
    events: int = 0  # opens and clicks classified

    def to_dict(self) -> dict[str, Any]:
        return {
            "opens": self.opens,
            "machine_opens": self.machine_opens,
            "clicks": self.clicks,
            "machine_clicks": self.machine_clicks,
            "links": [{k: v for k, v in asdict(s).items() if k != "tag"} for s in self.links],
            "stories": [asdict(s) for s in self.stories],
        }


def _tag(raw: str | None) -> str | None:
    """``{"story": ["2"]}`` (an SES click's linkTags) -> ``"story:2"``."""
    if not raw:
        return None
    try:
        tags = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(tags, dict):
        return None
    for name in ("story", "link"):
        values = tags.get(name)
        if isinstance(values, list) and values:
            return f"{name}:{values[0]}"
    return None


def send_engagement(
    db: Database, send_id: int, guardrails: GuardrailSettings | None = None
) -> Engagement:
    """Classify and count one send's opens and clicks (two queries, then a pass in memory).

    The scanner rule's thresholds are ``guardrails``'s (the ``[guardrails]``
    settings; without them, their defaults).
    """
    guard = guardrails or GuardrailSettings.model_validate({})
    scanner_links = guard.scanner_links
    with db.session() as session:
        link_map = store.send_links(session, send_id)
        agents = store.open_agents(session, send_id)
        machine_agents = [a for a in agents if a is not None and machine_open_agent(a)]
        # Opens are counted in SQL from the agents classified here; only an
        # implausibly long list of machine agents falls back to reading every open.
        counted = (
            store.count_openers(session, send_id, machine_agents, APPLE_PREFIX)
            if len(machine_agents) <= MAX_SQL_AGENTS
            else None
        )
        opens = list(store.open_rows(session, send_id)) if counted is None else []
        click_rows = list(store.click_rows(session, send_id))
    by_url = {entry["url"]: entry for entry in link_map}
    by_tag: dict[str, dict[str, Any]] = {}
    for entry in link_map:
        if entry.get("tag"):
            by_tag.setdefault(entry["tag"], entry)
    # A send's events come from few distinct agents and addresses: classify each once.
    open_agents: dict[str | None, bool] = {}
    agent_verdicts: dict[str | None, bool] = {}
    tag_names: dict[str | None, str | None] = {}
    humans_open: set[int] = set()
    machines_open: set[int] = set()
    for rid, agent, ip in opens:
        by_agent = open_agents.get(agent)
        if by_agent is None:
            by_agent = open_agents[agent] = machine_open_agent(agent)
        (machines_open if by_agent or apple_address(ip) else humans_open).add(rid)
    # recipient -> [(when, key, machine by agent)], and what each key is.
    clicks: dict[int, list[tuple[Any, str, bool]]] = defaultdict(list)
    starts: dict[int, Any] = {}
    keys: dict[str, tuple[str, str | None]] = {}  # key -> (tag, url)
    for rid, link, raw_tags, agent, when, start in click_rows:
        if raw_tags not in tag_names:
            tag_names[raw_tags] = _tag(raw_tags)
        tag = tag_names[raw_tags]
        if agent not in agent_verdicts:
            agent_verdicts[agent] = machine_agent(agent)
        # Personal links differ per recipient: one row per tag, not per URL.
        key = tag if tag and tag.startswith("link:") else (link or tag or "")
        if key not in keys:
            keys[key] = (tag or (by_url.get(link or "") or {}).get("tag") or "", link)
        clicks[rid].append((when, key, agent_verdicts[agent]))
        starts[rid] = start
    distinct_links = len(link_map) or scanner_links
    burst = max(2, min(scanner_links, distinct_links))
    window = timedelta(seconds=guard.scanner_seconds)
    human: dict[str, set[int]] = defaultdict(set)
    machine: dict[str, set[int]] = defaultdict(set)
    for rid, mine in clicks.items():
        start = starts.get(rid)
        early = (
            {key for when, key, _ in mine if when <= start + window} if start is not None else set()
        )
        scanner = len(early) >= burst
        for when, key, by_agent in mine:
            if by_agent or (scanner and start is not None and when <= start + window):
                machine[key].add(rid)
            else:
                human[key].add(rid)
    people, machines = counted or (len(humans_open), len(machines_open))
    result = Engagement(
        opens=people,
        machine_opens=machines,
        events=(len(agents) if counted is not None else len(opens)) + len(click_rows),
    )
    result.clicks = len(set().union(*human.values())) if human else 0
    result.machine_clicks = len(set().union(*machine.values())) if machine else 0
    stories: dict[str, tuple[set[int], set[int], str | None]] = {}
    for key in sorted(keys, key=lambda k: (-len(human[k]), k)):
        tag, url = keys[key]
        found = by_tag.get(key) if key.startswith("link:") else by_url.get(url or "")
        entry = found or by_tag.get(tag) or {}
        story = entry.get("story")
        shown = PERSONAL_LABELS.get(key, key) if key.startswith("link:") else url or key
        result.links.append(
            LinkStats(shown, story, tag or None, len(human[key]), len(machine[key]))
        )
        if tag.startswith("story:"):
            who, bots, _ = stories.setdefault(tag, (set(), set(), story))
            who |= human[key]
            bots |= machine[key]
    for entry in link_map:  # stories nobody clicked are part of the picture too
        tag = entry.get("tag") or ""
        if tag.startswith("story:"):
            stories.setdefault(tag, (set(), set(), entry.get("story")))
    for tag in sorted(stories, key=lambda t: int(t.split(":", 1)[1]) if t[6:].isdigit() else 0):
        who, bots, story = stories[tag]
        number = int(tag[6:]) if tag[6:].isdigit() else 0
        result.stories.append(StoryStats(number, story, len(who), len(bots)))
    return result
