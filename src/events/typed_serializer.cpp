#include "events/typed_serializer.hpp"

#include <string>

#include "events/json_text.hpp"
#include "events/referral_fields.hpp"

namespace referkit::detail {
namespace {

// A typed event is a few hundred bytes; the scratch buffer keeps its capacity between calls
// on a thread, unless an oversized event made it grow past this.
constexpr std::size_t kScratchBytes = 1024;
constexpr std::size_t kMaxKeptScratch = 64 * 1024;

// describe()'s Out that writes the event's JSON: the head as serialize_event writes it, then
// ,"properties":{...}}. The first failure (invalid UTF-8) is kept and returned by end().
class JsonEventWriter {
 public:
  JsonEventWriter(std::string& scratch, TimePoint now, MessageIdWriter make_id, SerializedEvent& result)
      : out_(scratch, kScratchBytes), now_(now), make_id_(make_id), result_(result) {}

  void begin(const char* name, const Identity& who, std::size_t) {
    const EventHead head{EventType::kTrack, name, who.user_id, who.anonymous_id, {}, std::nullopt};
    if (auto size = check_event_head(head); !size) {
      status_ = size.status();
      return;
    }
    status_ = write_event_head(out_, head, now_, make_id_, result_);
    out_.put_raw(R"(,"properties":{)");
  }
  void text(const char* key, std::string_view s) {
    if (!put_key(key)) return;
    // The message serialize_event gives for the same property (value_check's path format).
    if (!out_.put_string(s)) {
      status_ = Status(StatusCode::kInvalidArgument, std::string("properties.") + key + ": invalid UTF-8");
    }
  }
  void decimal(const char* key, std::string_view text) {
    if (put_key(key)) out_.put_raw(text);
  }
  void boolean(const char* key, bool b) {
    if (put_key(key)) out_.put_raw(b ? "true" : "false");
  }
  Status end() {
    if (!status_.ok()) return status_;
    out_.put_raw("}}");
    out_.finish();
    return Status();
  }

 private:
  // ,"key": (no comma before the first); false once something has failed.
  bool put_key(const char* key) {
    if (!status_.ok()) return false;
    if (!first_) out_.put(',');
    first_ = false;
    out_.put('"');
    out_.put_raw(key);
    out_.put_raw("\":");
    return true;
  }

  JsonOutput out_;
  TimePoint now_;
  MessageIdWriter make_id_;
  SerializedEvent& result_;
  Status status_;
  bool first_ = true;
};

}  // namespace

template <typename Typed>
Result<SerializedEvent> serialize_typed(const Typed& event, TimePoint now, MessageIdWriter make_id) {
  thread_local std::string scratch;
  SerializedEvent result;
  JsonEventWriter writer(scratch, now, make_id, result);
  Status s = describe(event, writer);
  if (s.ok()) s = check_event_size(scratch.size());
  if (s.ok()) result.json.assign(scratch);  // exactly sized: the queue holds it for a while
  if (scratch.capacity() > kMaxKeptScratch) std::string().swap(scratch);
  if (!s.ok()) return s;
  return result;
}

template Result<SerializedEvent> serialize_typed(const ReferralLinkCreated&, TimePoint, MessageIdWriter);
template Result<SerializedEvent> serialize_typed(const ReferralLinkShared&, TimePoint, MessageIdWriter);
template Result<SerializedEvent> serialize_typed(const ReferralLinkClicked&, TimePoint, MessageIdWriter);
template Result<SerializedEvent> serialize_typed(const RefereeSignedUp&, TimePoint, MessageIdWriter);
template Result<SerializedEvent> serialize_typed(const OrderCompleted&, TimePoint, MessageIdWriter);
template Result<SerializedEvent> serialize_typed(const OrderRefunded&, TimePoint, MessageIdWriter);
template Result<SerializedEvent> serialize_typed(const OrderCancelled&, TimePoint, MessageIdWriter);
template Result<SerializedEvent> serialize_typed(const RewardIssued&, TimePoint, MessageIdWriter);

}  // namespace referkit::detail
