#include "events/typed_serializer.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "json/json_text.hpp"
#include "events/pii.hpp"
#include "events/referral_fields.hpp"

namespace referkit::detail {
namespace {

// A typed event is a few hundred bytes; the scratch buffer keeps its capacity between calls
// on a thread, unless an oversized event made it grow past this.
constexpr std::size_t kScratchBytes = 1024;
constexpr std::size_t kMaxKeptScratch = 64 * 1024;

// describe()'s Out that writes the event's JSON: the head as serialize_event writes it, then
// ,"properties":{...} and, when the event has a context, ,"context":{...}, then }. The first
// failure (invalid UTF-8, an IP the policy cannot truncate) is kept and returned by end().
class JsonEventWriter {
 public:
  JsonEventWriter(std::string& scratch, TimePoint now, MessageIdWriter make_id, IpPolicy ip_policy,
                  SerializedEvent& result)
      : out_(scratch, kScratchBytes), now_(now), make_id_(make_id), ip_policy_(ip_policy), result_(result) {}

  void begin(const char* name, const Identity& who, std::size_t) {
    // The name is one of referral_fields.hpp's literals: nothing in it to escape.
    const EventHead head{EventType::kTrack, name, who.user_id, who.anonymous_id, {}, std::nullopt, true};
    if (auto size = check_event_head(head); !size) {
      status_ = size.status();
      return;
    }
    // Kept only when it failed: moving an OK Status in (its empty string's buffer reloaded right
    // after its one-byte store) stalled on store forwarding in every track().
    if (Status s = write_event_head(out_, head, now_, make_id_, result_); !s.ok()) {
      status_ = std::move(s);
      return;
    }
    out_.put_raw(R"(,"properties":{)");
  }
  // The members are inlined (see put_key).
  [[gnu::always_inline]] void text(const char* key, std::string_view s) {
    if (put_key(key) && !out_.put_string(s)) invalid_utf8(key);
  }
  [[gnu::always_inline]] void decimal(const char* key, std::string_view text) {
    if (put_key(key)) out_.put_raw(text);
  }
  void integer(const char* key, std::int64_t n) {
    if (!put_key(key)) return;
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);
    out_.put_raw(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  }
  // The hash's 64 hex digits go straight into the output: nothing in them to escape or check.
  void email_sha256(const char* key, std::string_view email) {
    if (!put_key(key)) return;
    char* at = out_.claim(kEmailSha256Chars + 2);
    at[0] = '"';
    write_email_sha256(at + 1, email);
    at[kEmailSha256Chars + 1] = '"';
  }
  [[gnu::always_inline]] void boolean(const char* key, bool b) {
    if (!put_key(key)) return;
    if (b) {
      out_.put_raw("true");
    } else {
      out_.put_raw("false");
    }
  }

  void begin_list(const char* key) {
    if (!put_key(key)) return;
    out_.put('[');
    open(key);
  }
  void begin_item() {
    if (!status_.ok()) return;
    if (!first_[depth_]) out_.put(',');
    first_[depth_] = false;
    out_.put('{');
    ++item_;
    open(nullptr);
  }
  void end_item() { close('}'); }
  void end_list() {
    close(']');
    item_ = -1;
  }

  // Opened lazily by the first member written: a context whose only member the policy drops is
  // left out, as serialize_event leaves out an empty one.
  void begin_context() { in_context_ = true; }
  void ip(std::string_view text) {
    if (ip_policy_ == IpPolicy::kDrop) return;
    if (ip_policy_ == IpPolicy::kKeep) return this->text("ip", text);
    auto truncated = truncate_ip(text);
    if (!truncated) {
      if (status_.ok()) status_ = Status(StatusCode::kInvalidArgument, "context.ip: " + truncated.status().message());
      return;
    }
    this->text("ip", *truncated);
  }
  void begin_object(const char* key) {
    if (!put_key(key)) return;
    out_.put('{');
    open(key);
  }
  void end_object() { close('}'); }

  Status end() {
    if (!status_.ok()) return status_;
    out_.put_raw("}}");
    return Status();
  }
  // The event's JSON, once end() succeeded.
  std::string_view json() const { return out_.text(); }

 private:
  // ,"key": (no comma before the first); false once something has failed. Inlined into each
  // call site, where the key is a literal: its length is then a constant and the key is a few
  // stores, not a strlen and a memcpy call.
  [[gnu::always_inline]] bool put_key(const char* key) {
    if (!status_.ok()) return false;
    if (in_context_ && !context_open_) open_context();
    const std::size_t size = std::char_traits<char>::length(key);
    const bool comma = !first_[depth_];
    first_[depth_] = false;
    char* at = out_.claim(size + 3 + (comma ? 1 : 0));
    if (comma) *at++ = ',';
    at[0] = '"';
    std::memcpy(at + 1, key, size);
    at[size + 1] = '"';
    at[size + 2] = ':';
    return true;
  }
  void open_context() {
    out_.put_raw(R"(},"context":{)");
    context_open_ = true;
    first_[0] = true;
  }
  // The message serialize_event gives for the same member (value_check's path format).
  [[gnu::noinline]] void invalid_utf8(const char* key) {
    status_ = Status(StatusCode::kInvalidArgument, path_to(key) + ": invalid UTF-8");
  }
  void open(const char* key) {
    if (depth_ == 0 && key != nullptr) outer_key_ = key;
    first_[++depth_] = true;
  }
  void close(char c) {
    if (!status_.ok()) return;
    out_.put(c);
    --depth_;
  }
  // "properties.coupon", "properties.products[2].sku", "context.page.url": value_check's paths.
  std::string path_to(const char* key) const {
    std::string path = context_open_ ? "context" : "properties";
    if (depth_ > 0) path += std::string(".") + outer_key_;
    if (item_ >= 0 && depth_ > 0) path += "[" + std::to_string(item_) + "]";
    return path + "." + key;
  }

  JsonOutput out_;
  TimePoint now_;
  MessageIdWriter make_id_;
  IpPolicy ip_policy_;
  SerializedEvent& result_;
  Status status_;
  bool first_[3] = {true, true, true};  // per nesting level: properties/context, list, entry
  int depth_ = 0;
  const char* outer_key_ = "";
  long item_ = -1;  // the list entry being written
  bool in_context_ = false;
  bool context_open_ = false;
};

}  // namespace

namespace {

// Whether a lent buffer of `capacity` bytes should carry `size` bytes of text. Not when it is
// short (growing it would allocate anyway), nor when it would hold much more than the text: the
// queue's bound (max_queue_bytes) counts the text's size, not the buffer's, so the slack is kept
// small. Events of one kind differ in size by a few bytes.
bool lent_buffer_fits(std::size_t capacity, std::size_t size) { return capacity >= size && capacity - size <= size / 8 + 64; }

}  // namespace

template <typename Typed>
Result<SerializedEvent> serialize_typed(const Typed& event, TimePoint now, MessageIdWriter make_id, IpPolicy ip_policy,
                                        std::string* reuse) {
  thread_local std::string scratch;
  SerializedEvent ids;  // write_event_head puts the message id's position here; json stays empty
  JsonEventWriter writer(scratch, now, make_id, ip_policy, ids);
  Status s = describe(event, writer);
  if (s.ok()) {
    // Assigned only when it failed (see begin()).
    if (Status size = check_event_size(writer.json().size()); !size.ok()) s = std::move(size);
  }
  // The JSON copied once into an exactly sized string (the queue holds it for a while), built
  // where the Result keeps it. Not move-assigned from a temporary into an existing string: that
  // reloaded the temporary's length and capacity as one 16-byte load right after their separate
  // stores, a store-forwarding stall that was 8% of the serializer's time (perf); nor assigned
  // in place, two calls into libstdc++ (_M_replace, _M_mutate) where this constructs inline.
  //
  // A lent buffer that fits takes the copy instead: no allocation here, and none freed on the
  // worker once the event is delivered (see MemoryQueue::recycle). It is moved into the Result
  // first (its fields were stored at the lend, long before) and filled there: moved right after
  // the copy, its new length would be reloaded with its capacity as one load (the stall above).
  const bool lent = s.ok() && reuse != nullptr && lent_buffer_fits(reuse->capacity(), writer.json().size());
  Result<SerializedEvent> out =
      !s.ok() ? Result<SerializedEvent>(std::move(s))
      : lent  ? Result<SerializedEvent>(SerializedEvent{std::move(*reuse), ids.message_id_at, ids.message_id_size})
              : Result<SerializedEvent>(SerializedEvent{std::string(writer.json()), ids.message_id_at, ids.message_id_size});
  if (lent) {
    out->json.assign(writer.json());
    reuse->clear();  // moved from: empty in libstdc++, but the contract says so for any library
  } else if (reuse != nullptr && reuse->capacity() > std::string().capacity()) {
    std::string().swap(*reuse);  // a buffer that did not fit: freed here, on its borrower's thread
  }
  if (scratch.capacity() > kMaxKeptScratch) std::string().swap(scratch);
  return out;
}

template Result<SerializedEvent> serialize_typed(const ReferralLinkCreated&, TimePoint, MessageIdWriter, IpPolicy, std::string*);
template Result<SerializedEvent> serialize_typed(const ReferralLinkShared&, TimePoint, MessageIdWriter, IpPolicy, std::string*);
template Result<SerializedEvent> serialize_typed(const ReferralLinkClicked&, TimePoint, MessageIdWriter, IpPolicy, std::string*);
template Result<SerializedEvent> serialize_typed(const RefereeSignedUp&, TimePoint, MessageIdWriter, IpPolicy, std::string*);
template Result<SerializedEvent> serialize_typed(const OrderCompleted&, TimePoint, MessageIdWriter, IpPolicy, std::string*);
template Result<SerializedEvent> serialize_typed(const OrderRefunded&, TimePoint, MessageIdWriter, IpPolicy, std::string*);
template Result<SerializedEvent> serialize_typed(const OrderCancelled&, TimePoint, MessageIdWriter, IpPolicy, std::string*);
template Result<SerializedEvent> serialize_typed(const RewardIssued&, TimePoint, MessageIdWriter, IpPolicy, std::string*);

}  // namespace referkit::detail
