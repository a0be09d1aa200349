<?php
// The C ABI (include/referkit/referkit.h) through PHP's FFI, loaded once per process.
//
// The declarations come from referkit.h itself, with its preprocessor lines taken out (FFI's C
// parser has no preprocessor), so the binding can never drift from the header. The library is
// REFERKIT_LIBRARY, or libreferkit_c.so under the install prefix; the header is REFERKIT_HEADER,
// or include/referkit/referkit.h under the same prefix (or in the source tree).
//
// PHP-FPM allows FFI only in preloaded code by default (ffi.enable=preload): php.ini's ffi.preload
// names the header make_ffi_header.php writes, which registers the scope "referkit" at start-up,
// and requests then use FFI::scope(). (FFI::load() in an opcache.preload script is refused when
// opcache.preload_user is set, which a master started as root needs.)
declare(strict_types=1);

namespace Referkit;

final class Native
{
    public const SCOPE = 'referkit';
    private const STATUS_NAMES = [
        'ok', 'invalid_argument', 'malformed', 'bad_signature', 'unknown_key', 'expired', 'not_found',
        'permission_denied', 'unauthenticated', 'resource_exhausted', 'unavailable', 'deadline_exceeded',
        'failed_precondition', 'data_loss', 'internal',
    ];

    private static ?\FFI $ffi = null;

    public static function ffi(): \FFI
    {
        if (self::$ffi === null) {
            try {
                self::$ffi = \FFI::scope(self::SCOPE);  // preloaded (PHP-FPM)
            } catch (\Throwable $notPreloaded) {
                self::$ffi = \FFI::cdef(self::declarations(self::header()), self::library());
            }
            if (self::$ffi->rk_abi_version() !== 1) {
                throw new \RuntimeException('referkit: libreferkit_c implements another C ABI than this binding (1)');
            }
        }
        return self::$ffi;
    }

    // The declarations as a header for ffi.preload (php.ini), which registers the scope "referkit"
    // at server start for every request: how PHP-FPM, where ffi.enable=preload is the default,
    // gets FFI. make_ffi_header.php writes it; FFI_LIB is this machine's library path.
    public static function preloadHeader(): string
    {
        return '#define FFI_SCOPE "' . self::SCOPE . "\"\n#define FFI_LIB \"" . self::library() . "\"\n"
            . self::declarations(self::header());
    }

    public static function library(): string
    {
        $explicit = getenv('REFERKIT_LIBRARY');
        if ($explicit !== false && $explicit !== '') {
            return $explicit;
        }
        foreach (self::prefixes() as $prefix) {
            foreach (['lib', 'lib64', 'lib/x86_64-linux-gnu', 'lib/aarch64-linux-gnu'] as $libdir) {
                $found = glob("$prefix/$libdir/libreferkit_c.so*") ?: [];
                if ($found !== []) {
                    return $found[0];
                }
            }
        }
        return 'libreferkit_c.so';  // the system's library path
    }

    private static function header(): string
    {
        $explicit = getenv('REFERKIT_HEADER');
        if ($explicit !== false && $explicit !== '') {
            return $explicit;
        }
        foreach (self::prefixes() as $prefix) {
            if (is_file("$prefix/include/referkit/referkit.h")) {
                return "$prefix/include/referkit/referkit.h";
            }
        }
        $library = getenv('REFERKIT_LIBRARY');
        if ($library !== false && is_file(dirname($library, 2) . '/include/referkit/referkit.h')) {
            return dirname($library, 2) . '/include/referkit/referkit.h';
        }
        throw new \RuntimeException('referkit: cannot find referkit/referkit.h (set REFERKIT_HEADER)');
    }

    // Installed at <prefix>/share/referkit/php/src; in the source tree at bindings/php/src.
    private static function prefixes(): array
    {
        $out = [];
        for ($dir = __DIR__, $i = 0; $i < 5; ++$i) {
            $dir = dirname($dir);
            $out[] = $dir;
        }
        return $out;
    }

    // referkit.h without preprocessor lines, the extern "C" wrapper and the RK_API marker.
    private static function declarations(string $header): string
    {
        $text = file_get_contents($header);
        if ($text === false) {
            throw new \RuntimeException("referkit: cannot read $header");
        }
        $out = [];
        foreach (explode("\n", $text) as $line) {
            $trimmed = ltrim($line);
            if (str_starts_with($trimmed, '#') || str_starts_with($trimmed, 'extern "C"')
                || str_starts_with($trimmed, '}  /* extern "C" */')) {
                continue;
            }
            $out[] = str_replace('RK_API ', '', $line);
        }
        return implode("\n", $out);
    }

    // Throws for a non-OK rk_status, with the thread's last-error message.
    public static function check(int $status, mixed $claims = null): void
    {
        if ($status !== 0) {
            $name = self::STATUS_NAMES[$status] ?? 'unknown';
            // FFI returns a const char* as a PHP string (up to its NUL: the message holds none).
            $message = self::ffi()->rk_last_error_message(null);
            throw new ReferkitException("$name: $message", $status, $name, $claims);
        }
    }

    // A (pointer, length) string the library handed out.
    public static function string(\FFI\CData $ptr, \FFI\CData $len): string
    {
        return $len->cdata === 0 ? '' : \FFI::string($ptr, $len->cdata);
    }
}
