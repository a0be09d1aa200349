<?php
// The prefork pattern with pcntl_fork: children track on the tracker the parent opened, and never
// resend the parent's events.
declare(strict_types=1);

require __DIR__ . '/harness.php';

skip_unless(extension_loaded('ffi'), 'the FFI extension is not loaded');
skip_unless(function_exists('pcntl_fork'), 'the pcntl extension is not loaded');

use Referkit\Tracker;

$dir = temp_dir();
$server = new IngestServer("$dir/fork.db");
$tracker = Tracker::open($server->url, 'wk', null, 0.05);
for ($i = 0; $i < 5; ++$i) {
    $tracker->track(['event' => 'Parent Delivered', 'userId' => "p-$i"]);
}
$tracker->flush(10);
// Held in the parent's queue across the forks: a child that copied and sent it would store them.
$tracker->pause(Tracker::ENGAGEMENT);
for ($i = 0; $i < 3; ++$i) {
    $tracker->track(['event' => 'Parent Held', 'userId' => "h-$i"]);
}
$children = [];
for ($n = 0; $n < 2; ++$n) {
    $pid = pcntl_fork();
    if ($pid === 0) {
        $code = 1;
        try {
            $tracker->resume(Tracker::ENGAGEMENT);  // the child's own lane
            for ($i = 0; $i < 4; ++$i) {
                $tracker->track(['event' => 'Child Event', 'userId' => "c-$n-$i"]);
            }
            $tracker->flush(10);
            $tracker->close(5);
            $code = 0;
        } catch (Throwable $e) {
            fwrite(STDERR, "child: {$e->getMessage()}\n");
        }
        exit($code);  // (the parent's shutdown functions are the child's too: they only remove temp files)
    }
    $children[] = $pid;
}
$deadline = microtime(true) + 30;
foreach ($children as $pid) {
    while (($done = pcntl_waitpid($pid, $status, WNOHANG)) === 0 && microtime(true) < $deadline) {
        usleep(20000);
    }
    if ($done === 0) {
        posix_kill($pid, 9);
        pcntl_waitpid($pid, $status);
        Check::that(false, 'a child did not finish in time');
    } else {
        Check::same(0, pcntl_wexitstatus($status), 'child exit status');
    }
}
$remote = $server->stats();
Check::same(8, $remote['by_event']['Child Event'] ?? 0, 'children\'s events stored');
Check::same(0, $remote['by_event']['Parent Held'] ?? 0, 'no child sent the parent\'s held events');
$tracker->resume(Tracker::ENGAGEMENT);
$tracker->flush(10);
$tracker->close(5);
$remote = $server->stats();
Check::same(3, $remote['by_event']['Parent Held'] ?? 0, 'the parent sent its own');
Check::same(16, $remote['events_stored'], 'stored in all');
Check::same(0, $remote['duplicates'], 'duplicates');
$server->stop();
Check::finish();
