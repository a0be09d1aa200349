// Sends events to a referkit-ingest through Segment's official Node SDK, then checks through
// /v1/stats that the server stored every one. Usage: node segment_node_send.mjs URL WRITE_KEY N
import { Analytics } from '@segment/analytics-node';

const [host, writeKey, countText] = process.argv.slice(2);
const count = Number(countText);
const analytics = new Analytics({ writeKey, host, path: '/v1/batch', maxEventsInBatch: 100, flushInterval: 200 });
let failed = 0;
analytics.on('error', (err) => {
  failed += 1;
  console.error('segment sdk error:', err.code ?? '', err.reason ?? err.message ?? err);
});
for (let i = 0; i < count; i += 1) {
  analytics.track({
    userId: `node-user-${i}`,
    event: 'Order Completed',
    properties: { order_id: `node-order-${i}`, total: 19.99, currency: 'EUR' },
  });
}
await analytics.closeAndFlush({ timeout: 30000 });
const stats = await (await fetch(`${host}/v1/stats`)).json();
const stored = stats.events_stored;
console.log(JSON.stringify({ sent: count, stored, sdk_errors: failed }));
process.exit(stored === count && failed === 0 ? 0 : 1);
