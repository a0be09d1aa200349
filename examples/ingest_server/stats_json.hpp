// GET /v1/stats: the delivery counters and what the database holds, as JSON.
#ifndef REFERKIT_INGEST_STATS_JSON_HPP
#define REFERKIT_INGEST_STATS_JSON_HPP

#include <string>

#include "event_store.hpp"
#include "ingest_stats.hpp"

namespace referkit::ingest {

// {"requests":..,"batches":..,"events_stored":..,"duplicates":..,"rejected":..,"bad_requests":..,
//  "auth_failures":..,"faults_injected":..,"faults":{"fail":..,"drop":..,"throttle":..},
//  "by_event":{"Order Completed":12,...}}
std::string render_stats_json(const CounterSnapshot& counters, const StoredCounts& stored);

}  // namespace referkit::ingest

#endif  // REFERKIT_INGEST_STATS_JSON_HPP
