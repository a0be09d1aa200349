<?php
// Writes the FFI header for php.ini's ffi.preload (PHP-FPM):
//   php make_ffi_header.php > /etc/php/8.2/referkit-ffi.h
//   ffi.enable=preload            (the default)
//   ffi.preload=/etc/php/8.2/referkit-ffi.h
// It names the library found now (REFERKIT_LIBRARY or the install prefix) by its full path.
declare(strict_types=1);

require __DIR__ . '/autoload.php';
echo \Referkit\Native::preloadHeader();
