<?php
declare(strict_types=1);

namespace Referkit;

// A non-OK rk_status: getCode() is its number, $status its name ("bad_signature"). For an
// expired link, $claims holds the authentic but stale claims.
final class ReferkitException extends \RuntimeException
{
    public function __construct(string $message, int $code, public readonly string $status,
                                public readonly mixed $claims = null)
    {
        parent::__construct($message, $code);
    }
}
