<?php
// Verifies the X-Referkit-Signature header of the platform's webhooks (referkit/webhooks.hpp).
declare(strict_types=1);

namespace Referkit;

final class WebhookVerifier
{
    private \FFI\CData $handle;

    // Every secret verifies (rotation); raw bytes, at least 16.
    public function __construct(array $secrets, int $toleranceS = 300)
    {
        $ffi = Native::ffi();
        $options = $ffi->new('rk_webhook_verifier_options*');
        Native::check($ffi->rk_webhook_verifier_options_new(\FFI::addr($options)));
        try {
            foreach ($secrets as $secret) {
                Native::check($ffi->rk_webhook_verifier_options_add_secret($options, $secret, strlen($secret)));
            }
            Native::check($ffi->rk_webhook_verifier_options_set_tolerance_s($options, $toleranceS));
            $handle = $ffi->new('rk_webhook_verifier*');
            Native::check($ffi->rk_webhook_verifier_create($options, \FFI::addr($handle)));
            $this->handle = $handle;
        } finally {
            $ffi->rk_webhook_verifier_options_free($options);
        }
    }

    // The signed time (Unix ms) when $header signs $body, the raw request body as received
    // (file_get_contents('php://input')), never a re-encoded one; throws otherwise.
    public function verify(string $header, string $body, int $nowMs = 0): int
    {
        $ffi = Native::ffi();
        $signedAt = $ffi->new('int64_t');
        Native::check($ffi->rk_webhook_verifier_verify($this->handle, $header, strlen($header), $body,
            strlen($body), $nowMs, \FFI::addr($signedAt)));
        return $signedAt->cdata;
    }

    // The header the platform would send for $body (for a merchant's tests).
    public static function sign(string $secret, int $unixSeconds, string $body): string
    {
        $ffi = Native::ffi();
        $out = $ffi->new('char[128]');
        $len = $ffi->new('size_t');
        Native::check($ffi->rk_webhook_sign($secret, strlen($secret), $unixSeconds, $body, strlen($body), $out,
            128, \FFI::addr($len)));
        return \FFI::string($out, $len->cdata);
    }

    public function __destruct()
    {
        Native::ffi()->rk_webhook_verifier_free($this->handle);
    }
}
