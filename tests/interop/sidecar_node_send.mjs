// Sends events through `referkit serve` with Segment's official Node SDK, and writes the
// messageId of every event the agent acknowledged (the SDK's per-event callback without an
// error) to ACKED_FILE, one per line. The caller then checks them against referkit-ingest.
// RATE (events per second, 0: as fast as the SDK takes them) paces the calls like an application
// sending over time, so that the kill test's restarts fall while events flow.
// Usage: node sidecar_node_send.mjs AGENT_URL WRITE_KEY COUNT ACKED_FILE [RATE]
import { Analytics } from '@segment/analytics-node';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const [host, writeKey, countText, ackedFile, rateText] = process.argv.slice(2);
const count = Number(countText);
const rate = Number(rateText ?? 0);
// Generous retries: in the kill test the agent is down (restarting) for a moment at a time.
const analytics = new Analytics({
  writeKey, host, path: '/v1/batch', maxEventsInBatch: 100, flushInterval: 100, maxRetries: 20, httpRequestTimeout: 10000,
});
const acked = [];
let failed = 0;
let lastError = '';
let settled = 0;
let resolveDone;
const done = new Promise((resolve) => { resolveDone = resolve; });
const settle = () => { settled += 1; if (settled === count) resolveDone(); };
const started = Date.now();
for (let i = 0; i < count; i += 1) {
  if (rate > 0 && i % 100 === 0) {
    const due = started + (i * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
  }
  const type = i % 10 === 9 ? 'identify' : 'track';
  const message = type === 'track'
    ? { userId: `node-user-${i}`, event: i % 2 === 0 ? 'Order Completed' : 'Referral Link Shared',
        properties: { order_id: `node-order-${i}`, total: 19.99, currency: 'EUR' } }
    : { userId: `node-user-${i}`, traits: { plan: 'pro' } };
  analytics[type](message, (err, ctx) => {
    if (err) {
      failed += 1;
      lastError = String(err.reason ?? err.message ?? err);
    } else {
      acked.push(ctx.event.messageId);
    }
    settle();
  });
}
// closeAndFlush waits for what is in flight; an event whose callback never came counts as failed
// (a bounded wait, so that a lost callback fails the run instead of hanging it).
await analytics.closeAndFlush({ timeout: 60000 });
await Promise.race([done, sleep(5000)]);
failed += count - settled;
writeFileSync(ackedFile, acked.join('\n') + '\n');
console.log(JSON.stringify({ sent: count, acknowledged: acked.length, failed, last_error: lastError }));
