<?php
// Per-call cost of track() from PHP through FFI (a benchmark, not a test). Memory mode against a
// closed loopback port: the figures are the calls alone. Prints one JSON object: for each path,
// the median over rounds of (round time / calls), in nanoseconds.
declare(strict_types=1);

require __DIR__ . '/../../bindings/php/autoload.php';

use Referkit\ReferkitException;
use Referkit\Tracker;

$calls = (int)($argv[1] ?? 10000);
$rounds = 5;

function per_call_ns(callable $make, int $calls, int $rounds): int
{
    $times = [];
    for ($r = 0; $r < $rounds; ++$r) {
        // A fresh tracker per round keeps the queue well within its memory budget.
        $tracker = Tracker::open('http://127.0.0.1:1', 'wk');
        $fn = $make($tracker);
        $start = hrtime(true);
        for ($i = 0; $i < $calls; ++$i) {
            $fn($i);
        }
        $times[] = (hrtime(true) - $start) / $calls;
        try {
            $tracker->close(0);
        } catch (ReferkitException) {
            // undelivered by design
        }
    }
    sort($times);
    return (int)round($times[intdiv($rounds, 2)]);
}

$event = ['event' => 'Order Completed', 'userId' => 'cust-1',
          'properties' => ['order_id' => 'o-1', 'total' => '19.99', 'currency' => 'USD']];
$text = json_encode(['type' => 'track'] + $event);
$cases = [
    'track_array_ns' => fn (Tracker $t) => fn (int $i) => $t->track($event),
    'track_json_ns' => fn (Tracker $t) => fn (int $i) => $t->trackJson($text),
    'typed_order_completed_ns' => fn (Tracker $t) => fn (int $i) => $t->orderCompleted(
        ['user_id' => 'cust-1', 'order_id' => 'o-1', 'total' => [1999, 'USD']]),
];
$results = ['language' => 'php', 'version' => PHP_VERSION, 'opcache_jit' => (string)ini_get('opcache.jit'),
            'calls_per_round' => $calls, 'rounds' => $rounds];
foreach ($cases as $name => $make) {
    $results[$name] = per_call_ns($make, $calls, $rounds);
}
echo json_encode($results), "\n";
