// The Segment side of tests/bench/compare_segment_node.sh: sends a JSON Lines file of Segment track
// events through Segment's official Node SDK (@segment/analytics-node, from npm), one track() per
// line with the line's own messageId and timestamp, then closeAndFlush(), then exits.
// Usage: node segment_node_bench.mjs URL WRITE_KEY FILE [FLUSH_AT] [FLUSH_INTERVAL_MS]
// Prints {"sent","sdk_errors","seconds","max_rss_kb"} as one JSON line on stdout; exits 0 when every
// line was handed to the SDK and the SDK reported no delivery error (the script checks the server).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Analytics } from '@segment/analytics-node';

const [host, writeKey, file, flushAtText = '500', flushIntervalText = '20'] = process.argv.slice(2);
if (!host || !writeKey || !file) {
  console.error('usage: node segment_node_bench.mjs URL WRITE_KEY FILE [FLUSH_AT] [FLUSH_INTERVAL_MS]');
  process.exit(2);
}
const started = process.hrtime.bigint();
// The fair best case: big batches, a short flush timer, a long request timeout so a busy server does
// not cause retries (the SDK has no compression). 500 events (about 430 KB as the SDK sends them) is
// as big as is safe: 2.3.0's batch size estimate (ContextBatch.calculateSize) counts little more than
// the letter "i", so its 480 KB cap never cuts a batch and 1,000+ events of this size get a 413 from a
// 500,000-byte limit. On the 2-vCPU machine 100, 250 and 500 events per batch, with a 20 ms or
// 1,000 ms timer, all measured within the run-to-run noise of each other.
const analytics = new Analytics({
  writeKey,
  host,
  path: '/v1/batch',
  flushAt: Number(flushAtText),
  flushInterval: Number(flushIntervalText),
  httpRequestTimeout: 120000,
  maxRetries: 3,
});
let errors = 0;
analytics.on('error', (err) => {
  errors += 1;
  if (errors <= 5) console.error('segment sdk error:', err.code ?? '', err.reason?.message ?? err.reason ?? err.message ?? err);
});

let sent = 0;
let bad = 0;
const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
for await (const line of lines) {
  if (line.length === 0) continue;
  const e = JSON.parse(line);
  if (e.type !== 'track') {
    bad += 1;
    continue;
  }
  analytics.track({
    userId: e.userId,
    anonymousId: e.anonymousId,
    event: e.event,
    properties: e.properties,
    timestamp: e.timestamp,
    messageId: e.messageId,
  });
  sent += 1;
}
// An explicit timeout: the default (1.25 x flushInterval) would give up long before the queue drains.
await analytics.closeAndFlush({ timeout: 590000 });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const maxRssKb = process.resourceUsage().maxRSS;
console.log(JSON.stringify({ sent, sdk_errors: errors + bad, seconds: Number(seconds.toFixed(3)), max_rss_kb: maxRssKb }));
process.exit(errors === 0 && bad === 0 ? 0 : 1);
