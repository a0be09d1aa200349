<?php
// A small harness for the PHP binding tests (no PHPUnit on Debian's php8.2-cli): assertions,
// referkit-ingest as a child process on 127.0.0.1 with a free port, and its /v1/stats. Every
// wait is bounded.
declare(strict_types=1);

require __DIR__ . '/../autoload.php';

const SKIP = 77;  // ctest's SKIP_RETURN_CODE

function skip_unless(bool $condition, string $why): void
{
    if (!$condition) {
        echo "SKIPPED: $why\n";
        exit(SKIP);
    }
}

final class Check
{
    public static int $passed = 0;
    public static int $failed = 0;

    public static function that(bool $ok, string $what): void
    {
        if ($ok) {
            ++self::$passed;
        } else {
            ++self::$failed;
            $where = debug_backtrace()[1] ?? debug_backtrace()[0];
            fwrite(STDERR, "FAIL: $what (line {$where['line']})\n");
        }
    }

    public static function same(mixed $expected, mixed $actual, string $what): void
    {
        self::that($expected === $actual, "$what: expected " . var_export($expected, true) . ', got ' . var_export($actual, true));
    }

    // Runs $fn and checks it throws a ReferkitException with status $status.
    public static function throws(string $status, callable $fn, string $what): ?\Referkit\ReferkitException
    {
        try {
            $fn();
        } catch (\Referkit\ReferkitException $e) {
            self::same($status, $e->status, "$what ({$e->getMessage()})");
            return $e;
        }
        self::that(false, "$what: no exception");
        return null;
    }

    public static function finish(): never
    {
        echo self::$passed . ' passed, ' . self::$failed . " failed\n";
        exit(self::$failed === 0 ? 0 : 1);
    }
}

final class IngestServer
{
    public readonly string $url;
    private $proc;
    private array $pipes = [];

    public function __construct(public readonly string $db)
    {
        $binary = getenv('REFERKIT_INGEST');
        $this->proc = proc_open([$binary, '--db', $db, '--write-key', 'wk', '--listen', '127.0.0.1:0'],
            [1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'w']], $this->pipes);
        $read = [$this->pipes[1]];
        $none = [];
        $line = stream_select($read, $none, $none, 15) ? (string)fgets($this->pipes[1]) : '';
        if (!str_starts_with($line, 'listening on ')) {
            $this->stop();
            throw new RuntimeException("referkit-ingest did not start: $line");
        }
        $this->url = trim(substr($line, strlen('listening on ')));
    }

    public function stats(): array
    {
        $context = stream_context_create(['http' => ['timeout' => 10]]);
        return json_decode((string)file_get_contents($this->url . '/v1/stats', false, $context), true);
    }

    public function stop(): void
    {
        if ($this->proc !== null) {
            proc_terminate($this->proc, 15);
            $deadline = microtime(true) + 15;
            while (proc_get_status($this->proc)['running'] && microtime(true) < $deadline) {
                usleep(20000);
            }
            if (proc_get_status($this->proc)['running']) {
                proc_terminate($this->proc, 9);
            }
            proc_close($this->proc);
            $this->proc = null;
        }
    }
}

function temp_dir(): string
{
    $dir = sys_get_temp_dir() . '/referkit-php-' . bin2hex(random_bytes(6));
    mkdir($dir, 0700);
    register_shutdown_function(static fn () => exec('rm -rf ' . escapeshellarg($dir)));
    return $dir;
}
