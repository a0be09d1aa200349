#!/usr/bin/env python3
"""What each track() call over 1 ms was doing: on the CPU, preempted, or waiting for a lock.

Record a run with the slow calls written out and a trace on the same clock:

  perf record -k CLOCK_MONOTONIC -e cpu-clock -c 100000 -e sched:sched_switch \\
      -e sched:sched_wakeup -g -o stall.data -- \\
      build/bin/referkit-bench --only stall --slow-calls slow.txt
  perf script -i stall.data --ns > stall.txt
  tests/bench/classify_slow_calls.py slow.txt stall.txt [--stacks]

For each run of the bench ("# <run>" lines of slow.txt) it counts the calls by what happened
first inside them: the producer switched out while runnable (preempted, and which thread got its
core), switched out to wait (for the memory-map lock, a page lock, a futex: a mutex or condition
variable, or something else, and which thread woke it), or on the CPU for most of the call
(cpu-clock samples, one per 100 us, and the first kernel function that names the work).
--stacks prints the switch-out stack of every wait.
"""
import bisect
import collections
import re
import sys

HEADER = re.compile(r'^\s*(\S.*?)\s+(\d+)\s+(?:\[\d+\]\s+)?([\d.]+):\s+(?:\d+\s+)?(\S+):\s*(.*)$')
SAMPLE_NS = 100_000  # cpu-clock -c 100000
ON_CPU_WORK = ('page_cache_ra_order', 'filemap_fault', 'do_anonymous_page', 'vm_mmap_pgoff', '__vm_munmap',
               'path_openat', 'ext4_fallocate', 'do_renameat2', 'do_mprotect_pkey', 'sysmalloc')


def read_slow_calls(path):
    runs = []  # (name, [(start_s, end_s, ms, tid, index)])
    for line in open(path):
        if line.startswith('#'):
            runs.append((line[1:].strip(), []))
            continue
        start, length, tid, index = line.split()
        if not runs:
            runs.append(('(unnamed)', []))
        runs[-1][1].append((int(start) / 1e9, (int(start) + float(length)) / 1e9, float(length) / 1e6, int(tid), int(index)))
    return runs


def read_trace(path):
    events = []  # [time_s, event, tid, comm, text, stack]
    for line in open(path):
        if not line.strip():
            continue
        match = None if line.startswith('\t') else HEADER.match(line)
        if match:
            comm, tid, time, event, text = match.groups()
            events.append([float(time), event, int(tid), comm, text, []])
        elif events:
            parts = line.split()
            if len(parts) >= 2:
                events[-1][5].append(parts[1].split('+')[0])
    events.sort(key=lambda e: e[0])
    return events


def wait_kind(stack):
    top = stack[:8]
    if any('rwsem' in f for f in top):
        return 'the memory-map lock' if any(f in ('down_read_killable', 'down_write_killable', 'lock_mm_and_find_vma') for f in top) else 'a rw semaphore'
    if any('folio_wait' in f for f in top):
        return 'a page lock'
    if any('futex' in f for f in top):
        return 'a futex (mutex or condition)'
    return 'other: ' + (top[3] if len(top) > 3 else '?')


def classify(call, events, times, names, show_stacks):
    start, end, ms, tid, _ = call
    lo, hi = bisect.bisect_left(times, start), bisect.bisect_right(times, end)
    on_cpu = collections.Counter()
    first = None
    for k in range(lo, hi):
        t, event, who, _, text, stack = events[k]
        if event == 'cpu-clock' and who == tid:
            on_cpu[next((f for f in stack if f in ON_CPU_WORK), 'other')] += 1
        elif first is None and event == 'sched:sched_switch' and f'prev_pid={tid} ' in text:
            state = re.search(r'prev_state=(\S+)', text).group(1)
            if state.startswith('R'):
                ran = re.sub(r'\d+', 'N', re.search(r'next_comm=(.*?) next_pid', text).group(1))
                first = f'preempted (then {ran})'
            else:
                waker = next((names.get(events[w][2], str(events[w][2])) for w in range(k, min(hi + 100, len(events)))
                              if events[w][1] == 'sched:sched_wakeup' and re.search(rf'\bpid={tid}\b', events[w][4])), '?')
                first = f'waiting for {wait_kind(stack)}, woken by {re.sub(r"[0-9]+", "N", waker)}'
                if show_stacks:
                    print('    ', ' < '.join(stack[:14]))
    if first is None or sum(on_cpu.values()) * SAMPLE_NS / 1e6 > 0.5 * ms:
        first = 'on the CPU: ' + (on_cpu.most_common(1)[0][0] if on_cpu else '?')
    return first


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    if len(args) != 2:
        sys.exit(__doc__)
    runs = read_slow_calls(args[0])
    events = read_trace(args[1])
    times = [e[0] for e in events]
    names = {e[2]: e[3] for e in events}
    for name, calls in runs:
        if not calls:
            continue
        print(f'{name}: {len(calls)} calls over 1 ms')
        counts = collections.Counter(classify(c, events, times, names, '--stacks' in sys.argv) for c in calls)
        for what, n in counts.most_common():
            print(f'  {n:4d}  {what}')


if __name__ == '__main__':
    main()
