<?php
// Run under the PHP-FPM setup (ffi.enable=preload, ffi.preload=<make_ffi_header.php output>):
// the scope registered by the preload script is what the binding uses, and it works.
declare(strict_types=1);

require __DIR__ . '/harness.php';

skip_unless(extension_loaded('ffi'), 'the FFI extension is not loaded');
skip_unless((bool)ini_get("ffi.preload"), "run with ffi.preload=<make_ffi_header.php output>");

Check::same('preload', ini_get('ffi.enable'), 'ffi.enable');
$scope = null;
try {
    $scope = FFI::scope('referkit');
} catch (Throwable $e) {
    Check::that(false, 'FFI::scope("referkit") after preload: ' . $e->getMessage());
}
Check::that($scope !== null && $scope->rk_abi_version() === 1, 'the preloaded scope answers');
$signer = new Referkit\LinkSigner('k1:00112233445566778899aabbccddeeff', 'https://refer.shop.test');
$link = $signer->mint('bf', 'cust-42');
Check::same('cust-42', $signer->verify($link['url'])['referrer'], 'a link round trip through the preloaded scope');
Check::finish();
