"""Per-call cost of track() from Python through the C ABI (a benchmark, not a test).

Memory mode against a closed loopback port, so the figures are the calls alone: nothing is
delivered, and the worker only waits between retries. Prints one JSON object: for each path,
the median over rounds of (round time / calls), in nanoseconds.
"""
import json
import statistics
import sys
import time

import referkit

CALLS = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
ROUNDS = 5


def per_call_ns(make):
    rounds = []
    for _ in range(ROUNDS):
        # A fresh tracker per round keeps the queue well within its memory budget.
        tracker = referkit.Tracker(endpoint="http://127.0.0.1:1", write_key="wk")
        fn = make(tracker)
        start = time.perf_counter_ns()
        for i in range(CALLS):
            fn(i)
        rounds.append((time.perf_counter_ns() - start) / CALLS)
        try:
            tracker.close(0)
        except referkit.ReferkitError:
            pass  # undelivered by design
    return round(statistics.median(rounds))


def main():
    results = {"language": "python", "version": sys.version.split()[0], "calls_per_round": CALLS, "rounds": ROUNDS}
    event = {"event": "Order Completed", "userId": "cust-1", "properties": {"order_id": "o-1", "total": "19.99",
                                                                            "currency": "USD"}}
    text = json.dumps({"type": "track", **event}, separators=(",", ":"))
    money = referkit.Money(1999, "USD")
    cases = {
        "track_dict_ns": lambda t: (lambda i: t.track(event)),
        "track_json_ns": lambda t: (lambda i: t.track_json(text)),
        "typed_order_completed_ns": lambda t: (lambda i: t.order_completed(user_id="cust-1", order_id="o-1",
                                                                            total=money)),
    }
    for name, make in cases.items():
        results[name] = per_call_ns(make)
    print(json.dumps(results))


main()
