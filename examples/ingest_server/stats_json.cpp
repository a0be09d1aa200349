#include "stats_json.hpp"

#include "json/json_writer.hpp"

namespace referkit::ingest {

std::string render_stats_json(const CounterSnapshot& c, const StoredCounts& stored) {
  std::string out;
  detail::JsonWriter w(out);
  w.begin_object();
  w.key("requests").value(c.requests);
  w.key("batches").value(c.batches);
  w.key("events_stored").value(stored.events);
  w.key("duplicates").value(c.duplicates);
  w.key("rejected").value(c.rejected);
  w.key("bad_requests").value(c.bad_requests);
  w.key("auth_failures").value(c.auth_failures);
  w.key("faults_injected").value(c.faults_injected());
  w.key("faults").begin_object();
  w.key("fail").value(c.fail_faults);
  w.key("drop").value(c.drop_faults);
  w.key("throttle").value(c.throttle_faults);
  w.end_object();
  // Event names come from validated JSON strings, so they are valid UTF-8 as the writer requires.
  w.key("by_event").begin_object();
  for (const auto& [name, count] : stored.by_event) w.key(name).value(count);
  w.end_object();
  w.end_object();
  return out;
}

}  // namespace referkit::ingest
