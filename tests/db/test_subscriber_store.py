"""The subscriber store on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from mailer.db import Database
from mailer.db import subscribers as store
from mailer.errors import ConflictError, NotFoundError
from mailer.lists.addresses import email_hash
from mailer.status import SubscriptionStatus as S
from mailer.status import SuppressionReason

LIST = {
    "name": "Weekly",
    "description": "",
    "from_name": "Ed",
    "from_email": "ed@example.org",
    "reply_to": "",
    "language": "en",
    "template": "default",
    "double_opt_in": False,
    "postal_address": "1 Road",
}


def _setup(db: Database) -> int:
    with db.session() as s:
        assert store.upsert_list(s, "weekly", LIST) == "created"
        lst = store.get_list(s, "weekly")
        for i in range(5):
            sub = store.upsert_subscriber(s, f"p{i}@example.org", name=f"P{i}")
            store.set_subscription(s, lst.id, sub.id, S.ACTIVE, "test")
        return lst.id


def test_upsert_list_reports_changes(db: Database) -> None:
    _setup(db)
    with db.session() as s:
        assert store.upsert_list(s, "weekly", LIST) == "unchanged"
        assert store.upsert_list(s, "weekly", {**LIST, "name": "Weekly!"}) == "updated"
        assert store.get_list(s, "weekly").name == "Weekly!"
        with pytest.raises(NotFoundError):
            store.get_list(s, "nope")


def test_same_address_any_case_is_one_subscriber(db: Database) -> None:
    with db.session() as s:
        a = store.upsert_subscriber(s, "Ann@example.org", name="Ann")
        b = store.upsert_subscriber(s, "ann@example.org", attributes={"city": "Gent"})
        assert a.id == b.id
        assert b.name == "Ann" and b.attributes == {"city": "Gent"}


def test_suppressed_active_subscriber_is_not_a_recipient(db: Database) -> None:
    list_id = _setup(db)
    with db.session() as s:
        assert store.suppress(s, "P1@example.org", SuppressionReason.HARD_BOUNCE, "550")
        assert not store.suppress(s, "p1@example.org", SuppressionReason.COMPLAINT)
        assert store.is_suppressed(s, "p1@example.org")
        assert store.get_suppression(s, "p1@example.org").reason == "hard_bounce"  # type: ignore[union-attr]
    with db.session() as s:
        pages = list(store.iter_recipients(s, list_id, batch_size=2))
        emails = [r.email for page in pages for r in page]
        assert emails == ["p0@example.org", "p2@example.org", "p3@example.org", "p4@example.org"]
        assert [len(p) for p in pages] == [2, 2]
        (counts,) = store.list_counts(s)
        assert (counts.active, counts.suppressed, counts.mailable) == (5, 1, 4)
    with db.session() as s:
        assert store.unsuppress(s, "p1@example.org")
        assert not store.unsuppress(s, "p1@example.org")
        assert not store.is_suppressed(s, "p1@example.org")


def test_unsubscribe_one_list_and_all(db: Database) -> None:
    list_id = _setup(db)
    with db.session() as s:
        assert store.unsubscribe(s, "weekly", email_hash("p2@example.org"), "link")
        assert not store.unsubscribe(s, list_id, email_hash("p2@example.org"), "link")
        assert not store.unsubscribe(s, "weekly", email_hash("nobody@example.org"), "link")
        assert store.unsubscribe_all(s, email_hash("p3@example.org"), "complaint") == 1
    with db.session() as s:
        assert store.count_subscriptions(s, list_id) == {S.ACTIVE: 3, S.UNSUBSCRIBED: 2}
        sub = store.find_subscriber_by_hash(s, email_hash("p2@example.org"))
        assert sub is not None
        ((_, subscription),) = store.subscriptions_of(s, sub.id)
        assert subscription.status_reason == "link"


def test_forget_keeps_only_the_hash(db: Database) -> None:
    list_id = _setup(db)
    with db.session() as s:
        store.suppress(s, "p4@example.org", SuppressionReason.MANUAL)
        assert store.forget(s, "p0@example.org")
        assert store.forget(s, "p4@example.org")
    with db.session() as s:
        assert store.find_subscriber(s, "p0@example.org") is None
        for addr in ("p0@example.org", "p4@example.org"):
            row = store.get_suppression(s, addr)
            assert row is not None and row.email is None and row.reason == "forgotten"
        assert "p0@example.org" not in [
            r.email for page in store.iter_recipients(s, list_id) for r in page
        ]
        with pytest.raises(ConflictError):
            store.unsuppress(s, "p0@example.org")


def test_search(db: Database) -> None:
    _setup(db)
    with db.session() as s:
        assert [x.email for x in store.search_subscribers(s, "P3")] == ["p3@example.org"]
        assert store.search_subscribers(s, "%") == []


def test_recipient_rows_carry_name_and_attributes(db: Database) -> None:
    list_id = _setup(db)
    with db.session() as s:
        store.upsert_subscriber(s, "p2@example.org", attributes={"tier": "gold", "n": 3})
    with db.session() as s:
        rows = {r.email: r for page in store.iter_recipients(s, list_id) for r in page}
    assert rows["p2@example.org"].attributes == {"tier": "gold", "n": 3}
    assert rows["p2@example.org"].name == "P2"
    assert rows["p3@example.org"].attributes == {}
