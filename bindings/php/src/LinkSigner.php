<?php
// Referral links and share codes, minted and verified locally (referkit/links.hpp).
declare(strict_types=1);

namespace Referkit;

final class LinkSigner
{
    private \FFI\CData $handle;

    // $keys: "key_id:hexsecret" entries (newline or comma separated), the first the primary.
    public function __construct(string $keys, string $baseUrl, array $shareHosts = [])
    {
        $ffi = Native::ffi();
        $options = $ffi->new('rk_link_signer_options*');
        Native::check($ffi->rk_link_signer_options_new(\FFI::addr($options)));
        try {
            Native::check($ffi->rk_link_signer_options_set_keys($options, $keys, strlen($keys)));
            Native::check($ffi->rk_link_signer_options_set_base_url($options, $baseUrl, strlen($baseUrl)));
            foreach ($shareHosts as $host) {
                Native::check($ffi->rk_link_signer_options_add_share_host($options, $host, strlen($host)));
            }
            $handle = $ffi->new('rk_link_signer*');
            Native::check($ffi->rk_link_signer_create($options, \FFI::addr($handle)));
            $this->handle = $handle;
        } finally {
            $ffi->rk_link_signer_options_free($options);
        }
    }

    // ['url' =>, 'token' =>, 'share_code' =>, 'key_id' =>]. Times are Unix ms; 0 is now / never.
    public function mint(string $campaign, string $referrer, string $name = '', int $issuedAtMs = 0,
                         int $expiresAtMs = 0): array
    {
        $ffi = Native::ffi();
        $link = $ffi->new('rk_link*');
        Native::check($ffi->rk_link_signer_mint($this->handle, $campaign, strlen($campaign), $referrer,
            strlen($referrer), $name, strlen($name), $issuedAtMs, $expiresAtMs, \FFI::addr($link)));
        try {
            $out = [];
            foreach (['url', 'token', 'share_code', 'key_id'] as $field => $key) {
                $out[$key] = self::get($ffi, 'rk_link_get', $link, $field);
            }
            return $out;
        } finally {
            $ffi->rk_link_free($link);
        }
    }

    // The claims of a link URL, token or share code; throws ReferkitException otherwise (for an
    // expired link, with the stale claims in ->claims).
    public function verify(string $text, int $nowMs = 0): array
    {
        $ffi = Native::ffi();
        $claims = $ffi->new('rk_link_claims*');
        $status = $ffi->rk_link_signer_verify($this->handle, $text, strlen($text), $nowMs, \FFI::addr($claims));
        $result = null;
        if (!\FFI::isNull($claims)) {
            try {
                $result = [];
                foreach (['kind', 'key_id', 'campaign', 'referrer', 'share_code', 'name_prefix'] as $field => $key) {
                    $result[$key] = self::get($ffi, 'rk_link_claims_get', $claims, $field);
                }
                $issued = $ffi->new('int64_t');
                $expires = $ffi->new('int64_t');
                Native::check($ffi->rk_link_claims_times($claims, \FFI::addr($issued), \FFI::addr($expires)));
                $result['issued_at_ms'] = $issued->cdata;
                $result['expires_at_ms'] = $expires->cdata;
            } finally {
                $ffi->rk_link_claims_free($claims);
            }
        }
        Native::check($status, $result);
        return $result;
    }

    public function shareCodeMatches(string $code, string $campaign, string $referrer): bool
    {
        $ffi = Native::ffi();
        $matches = $ffi->new('int');
        Native::check($ffi->rk_link_signer_share_code_matches($this->handle, $code, strlen($code), $campaign,
            strlen($campaign), $referrer, strlen($referrer), \FFI::addr($matches)));
        return $matches->cdata === 1;
    }

    private static function get(\FFI $ffi, string $getter, \FFI\CData $handle, int $field): string
    {
        $ptr = $ffi->new('const char*');
        $len = $ffi->new('size_t');
        Native::check($ffi->$getter($handle, $field, \FFI::addr($ptr), \FFI::addr($len)));
        return Native::string($ptr, $len);
    }

    public function __destruct()
    {
        Native::ffi()->rk_link_signer_free($this->handle);
    }
}
