<?php
// Referkit\Tracker, LinkSigner and WebhookVerifier against the real library and referkit-ingest.
declare(strict_types=1);

require __DIR__ . '/harness.php';

skip_unless(extension_loaded('ffi'), 'the FFI extension is not loaded');

use Referkit\LinkSigner;
use Referkit\Tracker;
use Referkit\WebhookVerifier;

$dir = temp_dir();

// Events are stored exactly once.
$server = new IngestServer("$dir/exactly-once.db");
$tracker = Tracker::open($server->url, 'wk', null, 0.05);
for ($i = 0; $i < 20; ++$i) {
    $tracker->track(['event' => 'PHP Event', 'userId' => "u-$i", 'properties' => ['i' => $i]]);
}
$tracker->orderCompleted(['user_id' => 'u-1', 'order_id' => 'o-1', 'total' => [1999, 'EUR'], 'new_customer' => true,
    'email' => 'Jane@Example.com', 'products' => [['sku' => 'mug', 'name' => 'Mug', 'quantity' => 2, 'unit_price' => [999, 'EUR']]]]);
$tracker->referralLinkClicked(['anonymous_id' => 'v-1', 'referral_code' => 'JANE-1', 'landing_url' => 'https://shop.test/']);
$tracker->flush(10);
$stats = $tracker->stats();
Check::same(22, $stats['tracked'], 'tracked');
Check::same(22, $stats['acknowledged'], 'acknowledged');
$tracker->close(5);
$remote = $server->stats();
Check::same(22, $remote['events_stored'], 'stored');
Check::same(0, $remote['duplicates'], 'duplicates');
Check::same(20, $remote['by_event']['PHP Event'] ?? 0, 'PHP Event stored');
Check::same(1, $remote['by_event']['Order Completed'] ?? 0, 'Order Completed stored');
Check::throws('failed_precondition', fn () => $tracker->track(['event' => 'Late', 'userId' => 'u']), 'track after close');

// Bad input is refused with a clear status, never a crash.
$tracker = Tracker::open($server->url, 'wk');
Check::throws('malformed', fn () => $tracker->trackJson('not json'), 'not JSON');
Check::throws('malformed', fn () => $tracker->trackJson("{\"event\":\"\xc3\x28\",\"userId\":\"u\"}"), 'invalid UTF-8');
$e = Check::throws('invalid_argument', fn () => $tracker->track(['event' => 'No User']), 'no user');
Check::that($e !== null && str_contains($e->getMessage(), 'user_id or anonymous_id'), 'the message names the field');
Check::throws('not_found', fn () => $tracker->orderCompleted(['user_id' => 'u', 'channel' => 'sms']), 'unknown field');
Check::throws('invalid_argument', fn () => $tracker->trackEvent('nonsense', []), 'unknown kind');
Check::throws('invalid_argument', fn () => Tracker::open('', 'wk'), 'no endpoint');

// Pause holds a lane; resume releases it.
$tracker->pause(Tracker::CONVERSIONS);
$tracker->orderCancelled(['user_id' => 'u', 'order_id' => 'o-9']);
Check::throws('failed_precondition', fn () => $tracker->flush(2), 'flush with a paused lane');
Check::same(0, $server->stats()['by_event']['Order Cancelled'] ?? 0, 'held while paused');
$tracker->resume(Tracker::CONVERSIONS);
$tracker->flush(10);
Check::same(1, $server->stats()['by_event']['Order Cancelled'] ?? 0, 'sent after resume');
$tracker->close(5);

// backgroundNice: checked, and applied to the tracker's own threads (Linux nices per thread).
Check::throws('invalid_argument', fn () => Tracker::open($server->url, 'wk', null, 0.05, 20), 'nice out of range');
$tracker = Tracker::open($server->url, 'wk', null, 0.05, 8);
$tracker->track(['event' => 'Niced', 'userId' => 'u-1']);
$tracker->flush(10);  // the worker has run, so it has niced itself
$workerNices = [];
foreach (glob('/proc/self/task/*') as $task) {
    $stat = @file_get_contents("$task/stat");
    if (trim((string) @file_get_contents("$task/comm")) !== 'rk-worker' || $stat === false) {
        continue;
    }
    // After the name in parentheses: state is field 3, nice field 19.
    $fields = explode(' ', substr($stat, strrpos($stat, ')') + 2));
    $workerNices[] = (int) $fields[19 - 3];
}
Check::that(in_array(8, $workerNices, true), 'the worker runs at nice 8: ' . json_encode($workerNices));
$tracker->close(5);
Check::same(1, $server->stats()['by_event']['Niced'] ?? 0, 'sent by the niced worker');

// Tracker::shared(): one per process, flushed when the process (an FPM worker) exits.
$script = '<?php require ' . var_export(__DIR__ . '/harness.php', true) . ';
$a = Referkit\Tracker::shared($argv[1], "wk");
$a->track(["event" => "Worker Exit", "userId" => "w-1"]);
$b = Referkit\Tracker::shared($argv[1], "wk");  // a later request of the same worker
$b->track(["event" => "Worker Exit", "userId" => "w-2"]);
$b->close();  // a no-op for a shared tracker
exit($b->stats()["tracked"] === 2 ? 0 : 3);';
file_put_contents("$dir/worker.php", $script);
exec(PHP_BINARY . ' ' . escapeshellarg("$dir/worker.php") . ' ' . escapeshellarg($server->url) . ' 2>&1', $output, $rc);
Check::same(0, $rc, 'the worker script ran: ' . implode("\n", $output));
Check::same(2, $server->stats()['by_event']['Worker Exit'] ?? 0, 'sent at the worker\'s exit without a flush');
$server->stop();

// Links: a round trip, share codes, refusals.
$signer = new LinkSigner('k1:00112233445566778899aabbccddeeff', 'https://refer.shop.test');
$link = $signer->mint('bf', 'cust-42', 'Jane', 1764400000000);
Check::that(str_starts_with($link['url'], 'https://refer.shop.test/r/'), 'link URL');
Check::same($link, $signer->mint('bf', 'cust-42', 'Jane', 1764400000000), 'deterministic');
$claims = $signer->verify($link['url']);
Check::same(['token', 'bf', 'cust-42', 1764400000000], [$claims['kind'], $claims['campaign'], $claims['referrer'], $claims['issued_at_ms']], 'claims');
$code = $signer->verify(strtolower($link['share_code']));
Check::same(['share_code', $link['share_code'], 'JANE'], [$code['kind'], $code['share_code'], $code['name_prefix']], 'share code');
Check::that($signer->shareCodeMatches($link['share_code'], 'bf', 'cust-42'), 'share code matches');
Check::that(!$signer->shareCodeMatches($link['share_code'], 'bf', 'cust-43'), 'share code of another referrer');
Check::throws('malformed', fn () => $signer->verify('nonsense'), 'nonsense');
$old = $signer->mint('bf', 'cust-42', '', 1764400000000, 1764400060000);
$e = Check::throws('expired', fn () => $signer->verify($old['token']), 'expired');
Check::same('cust-42', $e?->claims['referrer'] ?? null, 'stale claims come with the error');
Check::throws('invalid_argument', fn () => new LinkSigner('not a key', 'https://refer.shop.test'), 'bad keys');

// Webhooks: signed independently with hash_hmac, so this checks the wire format.
$secret = 'webhook-secret-0123456789';
$body = '{"type":"reward.issued","id":"evt-1","data":{"reward_id":"r-1"}}';
$now = time();
$header = "t=$now,v1=" . hash_hmac('sha256', "$now.$body", $secret);
Check::same($header, WebhookVerifier::sign($secret, $now, $body), 'sign matches hash_hmac');
$verifier = new WebhookVerifier([$secret]);
Check::same($now * 1000, $verifier->verify($header, $body), 'verified');
Check::throws('bad_signature', fn () => $verifier->verify($header, $body . ' '), 'changed body');
Check::throws('expired', fn () => $verifier->verify($header, $body, ($now + 3600) * 1000), 'stale');
Check::throws('malformed', fn () => $verifier->verify('v1=zz', $body), 'malformed header');
Check::throws('invalid_argument', fn () => new WebhookVerifier(['short']), 'short secret');

Check::finish();
