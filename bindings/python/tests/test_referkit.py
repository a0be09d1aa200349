"""The Python binding against the real library and a real referkit-ingest on loopback.

Run by ctest (bindings.python) with REFERKIT_LIBRARY, REFERKIT_INGEST and PYTHONPATH set.
"""
import hashlib
import hmac
import os
import tempfile
import threading
import time
import unittest

import referkit
from ingest import IngestServer

KEYS = "k1:00112233445566778899aabbccddeeff"
SECRET = "webhook-secret-0123456789"


class IngestTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="referkit-py-")
        self.server = IngestServer(os.path.join(self.dir.name, "events.db"))

    def tearDown(self):
        self.server.stop()
        self.dir.cleanup()

    def tracker(self, **extra):
        return referkit.Tracker(endpoint=self.server.url, write_key="wk", flush_interval_s=0.05, **extra)


class TrackerTest(IngestTestCase):
    def test_events_are_stored_exactly_once(self):
        with self.tracker() as tracker:
            for i in range(20):
                tracker.track({"event": "Python Event", "userId": f"u-{i}", "properties": {"i": i}})
            tracker.order_completed(user_id="u-1", order_id="o-1", total=referkit.Money(1999, "EUR"),
                                    new_customer=True, email=" Jane@Example.com ",
                                    products=[{"sku": "mug", "name": "Mug", "quantity": 2,
                                               "unit_price": referkit.Money(999, "EUR")}])
            tracker.referral_link_shared(anonymous_id="v-1", referral_code="JANE-1", channel="email")
            tracker.flush(10)
            stats = tracker.stats()
            self.assertEqual(stats["tracked"], 22)
            self.assertEqual(stats["acknowledged"], 22)
            self.assertEqual(stats["lanes"]["conversions"]["tracked"], 1)
        remote = self.server.stats()
        self.assertEqual(remote["events_stored"], 22)
        self.assertEqual(remote["duplicates"], 0)
        self.server.stop()
        stored = self.server.message_ids_by_event()
        self.assertEqual(len(stored["Python Event"]), 20)
        self.assertEqual(len(set(stored["Python Event"])), 20)
        self.assertEqual(len(stored["Order Completed"]), 1)
        self.assertEqual(len(stored["Referral Link Shared"]), 1)

    def test_durable_mode_delivers_what_an_earlier_tracker_left(self):
        spool = os.path.join(self.dir.name, "spool")
        first = referkit.Tracker(endpoint="http://127.0.0.1:1", write_key="wk", spool_dir=spool)
        first.track({"event": "Spooled", "userId": "u-1"})
        with self.assertRaises(referkit.ReferkitError):
            first.close(0)  # undelivered, kept in the spool
        with self.tracker(spool_dir=spool) as second:
            self.assertEqual(second.stats()["recovered"], 1)
            second.flush(10)
        self.assertEqual(self.server.stats()["by_event"].get("Spooled"), 1)

    def test_bad_input_raises_clear_errors(self):
        with self.tracker() as tracker:
            with self.assertRaises(referkit.MalformedError):
                tracker.track_json("not json")
            with self.assertRaises(referkit.MalformedError):
                tracker.track_json(b'{"event":"\xc3\x28","userId":"u"}')  # invalid UTF-8
            with self.assertRaises(referkit.InvalidArgumentError) as caught:
                tracker.track({"event": "No User"})
            self.assertIn("user_id or anonymous_id", str(caught.exception))
            self.assertEqual(caught.exception.code, "invalid_argument")
            with self.assertRaises(referkit.NotFoundError):
                tracker.order_completed(user_id="u", channel="sms")  # not a field of orders
            with self.assertRaises(referkit.InvalidArgumentError):
                tracker.order_completed(user_id="u", order_id="o", total=referkit.Money(1, "XYZ"))
        with self.assertRaises(referkit.InvalidArgumentError):
            referkit.Tracker(endpoint="", write_key="wk")
        with self.assertRaises(referkit.FailedPreconditionError):
            tracker.track({"event": "After Close", "userId": "u"})

    def test_background_nice_nices_the_trackers_threads_only(self):
        with self.assertRaises(referkit.InvalidArgumentError):
            self.tracker(background_nice=20)
        own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        with self.tracker(background_nice=9) as tracker:
            tracker.track({"event": "Niced", "userId": "u-1"})
            tracker.flush(10)  # the worker has run, so it has niced itself
            nices = {}
            for tid in os.listdir("/proc/self/task"):
                with open(f"/proc/self/task/{tid}/comm") as comm:
                    name = comm.read().strip()
                nices.setdefault(name, []).append(os.getpriority(os.PRIO_PROCESS, int(tid)))
            self.assertIn(9, nices.get("rk-worker", []))
            self.assertEqual(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), own)
        self.assertEqual(self.server.stats()["by_event"].get("Niced"), 1)

    def test_pause_holds_a_lane(self):
        with self.tracker() as tracker:
            tracker.pause("conversions")
            tracker.order_cancelled(user_id="u", order_id="o-9")
            with self.assertRaises(referkit.FailedPreconditionError):
                tracker.flush(2)  # the paused lane is not waited for
            self.assertTrue(tracker.stats()["lanes"]["conversions"]["paused"])
            self.assertEqual(self.server.stats()["events_stored"], 0)
            tracker.resume("conversions")
            tracker.flush(10)
        self.assertEqual(self.server.stats()["by_event"].get("Order Cancelled"), 1)

    def test_prefork_children_track_and_never_resend_the_parents_events(self):
        tracker = self.tracker()
        for i in range(5):
            tracker.track({"event": "Parent Delivered", "userId": f"p-{i}"})
        tracker.flush(10)
        # Held in the parent's queue while the workers fork: a child that copied the queue and
        # sent it would show up as duplicates, or as Parent Held events before the resume below.
        tracker.pause("engagement")
        for i in range(3):
            tracker.track({"event": "Parent Held", "userId": f"h-{i}"})
        children = []
        for n in range(2):
            pid = os.fork()
            if pid == 0:  # a prefork worker: track, flush, close, leave without Python's cleanup
                code = 1
                try:
                    tracker.resume("engagement")  # the child's own lane; the parent's stays paused
                    for i in range(4):
                        tracker.track({"event": "Child Event", "userId": f"c-{n}-{i}"})
                    tracker.flush(10)
                    tracker.close(5)
                    code = 0
                finally:
                    os._exit(code)
            children.append(pid)
        deadline = time.monotonic() + 30
        for pid in children:
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    self.assertEqual(os.waitstatus_to_exitcode(status), 0)
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    self.fail("a forked child did not finish in time")
                time.sleep(0.02)
        remote = self.server.stats()
        self.assertEqual(remote["by_event"].get("Child Event"), 8)
        self.assertIsNone(remote["by_event"].get("Parent Held"))  # no child sent them
        tracker.resume("engagement")
        tracker.flush(10)
        tracker.close(5)
        remote = self.server.stats()
        self.assertEqual(remote["by_event"].get("Parent Held"), 3)
        self.assertEqual(remote["events_stored"], 5 + 3 + 8)
        self.assertEqual(remote["duplicates"], 0)


class LinkSignerTest(unittest.TestCase):
    def setUp(self):
        self.signer = referkit.LinkSigner(KEYS, "https://refer.shop.test")

    def test_round_trip(self):
        link = self.signer.mint("bf", "cust-42", name="Jane", issued_at_ms=1764400000000)
        self.assertTrue(link.url.startswith("https://refer.shop.test/r/"))
        self.assertEqual(link, self.signer.mint("bf", "cust-42", name="Jane", issued_at_ms=1764400000000))
        claims = self.signer.verify(link.url)
        self.assertEqual((claims.kind, claims.campaign, claims.referrer, claims.key_id),
                         ("token", "bf", "cust-42", "k1"))
        self.assertEqual(claims.issued_at_ms, 1764400000000)
        self.assertEqual(self.signer.verify(link.token).referrer, "cust-42")
        code = self.signer.verify(link.share_code.lower())
        self.assertEqual((code.kind, code.share_code, code.name_prefix), ("share_code", link.share_code, "JANE"))
        self.assertTrue(self.signer.share_code_matches(link.share_code, "bf", "cust-42"))
        self.assertFalse(self.signer.share_code_matches(link.share_code, "bf", "cust-43"))

    def test_refusals(self):
        link = self.signer.mint("bf", "cust-42")
        tampered = link.token[:-2] + ("AA" if link.token[-2:] != "AA" else "BB")
        with self.assertRaises((referkit.BadSignatureError, referkit.MalformedError)):
            self.signer.verify(tampered)
        with self.assertRaises(referkit.MalformedError):
            self.signer.verify("nonsense")
        with self.assertRaises(referkit.UnknownKeyError):
            referkit.LinkSigner("k2:ffeeddccbbaa99887766554433221100", "https://refer.shop.test").verify(link.token)
        old = self.signer.mint("bf", "cust-42", issued_at_ms=1764400000000, expires_at_ms=1764400060000)
        with self.assertRaises(referkit.ExpiredError) as caught:
            self.signer.verify(old.url)
        self.assertEqual(caught.exception.claims.referrer, "cust-42")  # authentic but stale
        with self.assertRaises(referkit.InvalidArgumentError):
            self.signer.mint("", "cust-42")
        with self.assertRaises(referkit.InvalidArgumentError):
            referkit.LinkSigner("not a key", "https://refer.shop.test")


class WebhookTest(unittest.TestCase):
    def test_verification(self):
        body = b'{"type":"reward.issued","id":"evt-1","data":{"reward_id":"r-1"}}'
        now = int(time.time())
        # Signed independently with the standard library: the wire format, not just a round trip.
        mac = hmac.new(SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
        header = f"t={now},v1={mac}"
        self.assertEqual(referkit.sign_webhook(SECRET, now, body), header)
        with referkit.WebhookVerifier([SECRET]) as verifier:
            self.assertEqual(verifier.verify(header, body), now * 1000)
            with self.assertRaises(referkit.BadSignatureError):
                verifier.verify(header, body + b" ")
            with self.assertRaises(referkit.ExpiredError):
                verifier.verify(header, body, now_ms=(now + 3600) * 1000)
            with self.assertRaises(referkit.MalformedError):
                verifier.verify("v1=zz", body)
        with self.assertRaises(referkit.InvalidArgumentError):
            referkit.WebhookVerifier(["short"])


if __name__ == "__main__":
    unittest.main()
