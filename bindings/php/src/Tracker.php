<?php
// The event tracker (referkit/tracker.hpp) from PHP. track() never does network I/O: the
// library's own thread batches and uploads, which PHP cannot do by itself.
//
// Under PHP-FPM use Tracker::shared(): one tracker per worker process, opened lazily by the first
// request and kept by the library across requests (PHP objects die with the request), then
// flushed when the worker exits. `new Tracker(...)` is for CLI scripts and queue workers, which
// own it and close() it.
declare(strict_types=1);

namespace Referkit;

final class Tracker
{
    public const CONVERSIONS = 0;
    public const ENGAGEMENT = 1;
    private const KINDS = [
        'referral_link_created' => 1, 'referral_link_shared' => 2, 'referral_link_clicked' => 3,
        'referee_signed_up' => 4, 'order_completed' => 5, 'order_refunded' => 6, 'order_cancelled' => 7,
        'reward_issued' => 8,
    ];

    private ?\FFI\CData $handle;

    private function __construct(\FFI\CData $handle, private readonly bool $shared)
    {
        $this->handle = $handle;
    }

    // $backgroundNice (0-19): the nice value of the tracker's own threads, so that uploads give way
    // to the request's thread when the CPU is short (TrackerOptions::background_nice).
    public static function open(string $endpoint, string $writeKey, ?string $spoolDir = null,
                                ?float $flushIntervalS = null, ?int $backgroundNice = null): self
    {
        return new self(self::openWith($endpoint, $writeKey, $spoolDir, $flushIntervalS, null, $backgroundNice), false);
    }

    // The worker process's tracker for these settings (rk_tracker_open_shared): the same one for
    // every request the worker serves; shut down at the worker's exit, waiting up to $exitTimeoutS.
    public static function shared(string $endpoint, string $writeKey, ?string $spoolDir = null,
                                  float $exitTimeoutS = 5.0, ?int $backgroundNice = null): self
    {
        return new self(self::openWith($endpoint, $writeKey, $spoolDir, null, $exitTimeoutS, $backgroundNice), true);
    }

    private static function openWith(string $endpoint, string $writeKey, ?string $spoolDir,
                                     ?float $flushIntervalS, ?float $sharedExitTimeoutS,
                                     ?int $backgroundNice): \FFI\CData
    {
        $ffi = Native::ffi();
        $options = $ffi->new('rk_tracker_options*');
        Native::check($ffi->rk_tracker_options_new(\FFI::addr($options)));
        try {
            Native::check($ffi->rk_tracker_options_set_endpoint($options, $endpoint, strlen($endpoint)));
            Native::check($ffi->rk_tracker_options_set_write_key($options, $writeKey, strlen($writeKey)));
            if ($spoolDir !== null) {
                Native::check($ffi->rk_tracker_options_set_spool_dir($options, $spoolDir, strlen($spoolDir)));
            }
            if ($flushIntervalS !== null) {
                Native::check($ffi->rk_tracker_options_set_flush_interval_ms($options, max(1, self::ms($flushIntervalS))));
            }
            if ($backgroundNice !== null) {
                Native::check($ffi->rk_tracker_options_set_background_nice($options, $backgroundNice));
            }
            $handle = $ffi->new('rk_tracker*');
            if ($sharedExitTimeoutS === null) {
                Native::check($ffi->rk_tracker_open($options, \FFI::addr($handle)));
            } else {
                Native::check($ffi->rk_tracker_open_shared($options, self::ms($sharedExitTimeoutS), \FFI::addr($handle)));
            }
            return $handle;
        } finally {
            $ffi->rk_tracker_options_free($options);
        }
    }

    // One Segment-style event as an array; "type" defaults to "track".
    public function track(array $event): void
    {
        $event += ['type' => 'track'];
        $this->trackJson(json_encode($event, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
    }

    public function trackJson(string $json): void
    {
        Native::check(Native::ffi()->rk_tracker_track_json($this->live(), $json, strlen($json)));
    }

    // A typed referral event: $kind is 'order_completed' and the like; $fields by name: strings,
    // bools (new_customer), money as [minor_units, 'USD'] (total, subtotal, amount), products as
    // a list of ['sku' =>, 'name' =>, 'quantity' =>, 'unit_price' => [minor, 'USD'], 'category' =>].
    public function trackEvent(string $kind, array $fields): void
    {
        $ffi = Native::ffi();
        if (!isset(self::KINDS[$kind])) {
            throw new ReferkitException("invalid_argument: no event kind '$kind'", 1, 'invalid_argument');
        }
        $event = $ffi->new('rk_event*');
        Native::check($ffi->rk_event_new(self::KINDS[$kind], \FFI::addr($event)));
        try {
            foreach ($fields as $name => $value) {
                $name = (string)$name;
                if ($value === null) {
                    continue;
                } elseif ($name === 'products') {
                    foreach ($value as $p) {
                        [$minor, $currency] = $p['unit_price'];
                        $sku = (string)$p['sku'];
                        $pname = (string)($p['name'] ?? '');
                        $category = (string)($p['category'] ?? '');
                        Native::check($ffi->rk_event_add_product($event, $sku, strlen($sku), $pname, strlen($pname),
                            (int)($p['quantity'] ?? 1), (int)$minor, $currency, strlen($currency), $category, strlen($category)));
                    }
                } elseif (is_bool($value)) {
                    Native::check($ffi->rk_event_set_bool($event, $name, strlen($name), $value ? 1 : 0));
                } elseif (is_array($value)) {
                    [$minor, $currency] = $value;
                    Native::check($ffi->rk_event_set_money($event, $name, strlen($name), (int)$minor, $currency, strlen($currency)));
                } else {
                    $text = (string)$value;
                    Native::check($ffi->rk_event_set_string($event, $name, strlen($name), $text, strlen($text)));
                }
            }
            Native::check($ffi->rk_tracker_track_event($this->live(), $event));
        } finally {
            $ffi->rk_event_free($event);
        }
    }

    public function orderCompleted(array $fields): void { $this->trackEvent('order_completed', $fields); }
    public function orderRefunded(array $fields): void { $this->trackEvent('order_refunded', $fields); }
    public function orderCancelled(array $fields): void { $this->trackEvent('order_cancelled', $fields); }
    public function refereeSignedUp(array $fields): void { $this->trackEvent('referee_signed_up', $fields); }
    public function referralLinkCreated(array $fields): void { $this->trackEvent('referral_link_created', $fields); }
    public function referralLinkShared(array $fields): void { $this->trackEvent('referral_link_shared', $fields); }
    public function referralLinkClicked(array $fields): void { $this->trackEvent('referral_link_clicked', $fields); }
    public function rewardIssued(array $fields): void { $this->trackEvent('reward_issued', $fields); }

    // Waits up to $timeoutS for everything tracked so far to be delivered; throws otherwise.
    public function flush(float $timeoutS): void
    {
        Native::check(Native::ffi()->rk_tracker_flush($this->live(), self::ms($timeoutS)));
    }

    // Sends what it can within $timeoutS, stops and frees the tracker; throws when something was
    // left undelivered (durable mode keeps it in the spool). A shared tracker is left alone: the
    // library closes it when the process exits.
    public function close(float $timeoutS = 5.0): void
    {
        if ($this->shared) {
            return;  // the library's: the worker's later requests still use it
        }
        $handle = $this->handle;
        $this->handle = null;
        if ($handle !== null) {
            Native::check(Native::ffi()->rk_tracker_close($handle, self::ms($timeoutS)));
        }
    }

    public function pause(int $lane): void { Native::check(Native::ffi()->rk_tracker_pause($this->live(), $lane)); }
    public function resume(int $lane): void { Native::check(Native::ffi()->rk_tracker_resume($this->live(), $lane)); }

    public function stats(): array
    {
        $ffi = Native::ffi();
        $json = $ffi->new('char*');
        $len = $ffi->new('size_t');
        Native::check($ffi->rk_tracker_stats_json($this->live(), \FFI::addr($json), \FFI::addr($len)));
        try {
            return json_decode(\FFI::string($json, $len->cdata), true, 512, JSON_THROW_ON_ERROR);
        } finally {
            $ffi->rk_string_free($json);
        }
    }

    public function __destruct()
    {
        if ($this->handle !== null && !$this->shared) {
            Native::ffi()->rk_tracker_close($this->handle, 0);  // nothing may be thrown from here
            $this->handle = null;
        }
    }

    private function live(): \FFI\CData
    {
        if ($this->handle === null) {
            throw new ReferkitException('failed_precondition: the tracker is closed', 12, 'failed_precondition');
        }
        return $this->handle;
    }

    private static function ms(float $seconds): int
    {
        return (int)max(0, min($seconds * 1000, 0xFFFFFFFF));
    }
}
