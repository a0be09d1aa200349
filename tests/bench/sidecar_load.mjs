// A raw HTTP load loop for `referkit serve` (tests/bench/sidecar_bench.sh): CONNECTIONS keep-alive
// connections each POST Segment batches of BATCH events, back to back, until TOTAL events are
// acknowledged. Prints JSON: events/s acknowledged and the per-request latency (ms) percentiles.
// Node's own http module only, so nothing is installed for it.
// Usage: node sidecar_load.mjs URL KEY TOTAL BATCH CONNECTIONS [PREFIX]
import http from 'node:http';

const [url, key, totalText, batchText, connText, prefix = 'bench'] = process.argv.slice(2);
const total = Number(totalText);
const batch = Number(batchText);
const connections = Number(connText);
const target = new URL(url);
const auth = 'Basic ' + Buffer.from(`${key}:`).toString('base64');
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const now = new Date().toISOString();

function body(first) {
  const events = [];
  for (let i = first; i < first + batch && i < total; i += 1) {
    events.push(JSON.stringify({
      type: 'track', event: i % 2 ? 'Order Completed' : 'Referral Link Shared', messageId: `${prefix}-${i}`,
      userId: `user-${i % 997}`, timestamp: now,
      properties: { order_id: `order-${i}`, total: 19.99, currency: 'EUR', coupon: 'ADA-7K3Q' },
      context: { library: { name: 'bench', version: '0' } },
    }));
  }
  return `{"batch":[${events.join(',')}],"sentAt":"${now}"}`;
}

function post(payload) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request({
      host: target.hostname, port: target.port, path: '/v1/batch', method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', Authorization: auth, 'Content-Length': Buffer.byteLength(payload) },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

let next = 0;
const latencies = [];
let refused = 0;
const started = process.hrtime.bigint();
async function worker() {
  while (next < total) {
    const first = next;
    next += batch;
    const payload = body(first);
    for (;;) {
      const r = await post(payload);
      latencies.push(r.ms);
      if (r.status === 200) break;
      refused += 1;  // 429 from a full spool: retry, as a Segment library would
      await new Promise((ok) => setTimeout(ok, 50));
    }
  }
}
await Promise.all(Array.from({ length: connections }, worker));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
console.log(JSON.stringify({
  events: total, seconds: +seconds.toFixed(3), events_per_second: Math.round(total / seconds), requests: latencies.length,
  refused, latency_ms: { p50: +pct(50).toFixed(3), p90: +pct(90).toFixed(3), p99: +pct(99).toFixed(3), max: +pct(100).toFixed(3) },
}));
agent.destroy();
