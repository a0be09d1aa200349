// The spool's on-disk format: checksums, record round trips, and how the reader gets past damage
// (bit flips, torn tails, zeroed stretches) without losing the intact records around it.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "spool/crc32c.hpp"
#include "spool/segment_format.hpp"
#include "spool/spool_dir.hpp"

using namespace referkit;
using namespace referkit::detail;

namespace {

// A segment image: header plus the given events, then `slack` zero bytes.
std::vector<unsigned char> segment_with(const std::vector<std::string>& events, std::size_t slack = 256,
                                        std::uint32_t version = kSpoolFormatVersion) {
  std::size_t size = kSegmentHeaderBytes + slack;
  for (const auto& e : events) size += record_size(e.size());
  std::vector<unsigned char> buf(size, 0);
  SegmentHeader h;
  h.version = version;
  h.capacity = static_cast<std::uint32_t>(size);
  h.number = 3;
  h.owner = 0xabcdef;
  h.created_ms = 1'700'000'000'000;
  encode_segment_header(buf.data(), h);
  const RecordFormat format = record_format(h, buf.data());
  std::size_t at = kSegmentHeaderBytes;
  std::int64_t t = 1'700'000'000'000;
  for (const auto& e : events) {
    RecordMeta meta;
    meta.tracked_ms = t++;
    meta.id_offset = 1;
    meta.id_size = 2;
    encode_record(buf.data() + at, e, meta, format);
    at += record_size(e.size());
  }
  return buf;
}

std::vector<std::string> read_all(const std::vector<unsigned char>& buf, std::uint64_t* corrupt = nullptr,
                                  std::size_t size = 0) {
  SegmentReader reader(buf.data(), size ? size : buf.size(), kSegmentHeaderBytes, record_format(buf.data(), buf.size()));
  std::vector<std::string> out;
  RecordView rec;
  while (reader.next(rec)) out.emplace_back(rec.json);
  if (corrupt) *corrupt = reader.corrupt();
  return out;
}

const std::vector<std::string> kEvents = {R"({"a":1})", R"({"messageId":"m-2","x":"yy"})", std::string(300, 'z'),
                                          R"({"k":"last"})"};

}  // namespace

TEST_SUITE("spool_format") {

TEST_CASE("crc32c matches the Castagnoli check value and continues across calls") {
  CHECK(crc32c(0, "123456789", 9) == 0xE3069283u);
  CHECK(crc32c(crc32c(0, "1234", 4), "56789", 5) == 0xE3069283u);
  CHECK(crc32c(0, "", 0) == 0u);
}

TEST_CASE("records round-trip with their metadata, aligned to 8 bytes") {
  auto buf = segment_with(kEvents);
  SegmentReader reader(buf.data(), buf.size(), kSegmentHeaderBytes, record_format(buf.data(), buf.size()));
  RecordView rec;
  REQUIRE(reader.next(rec));
  CHECK(rec.json == kEvents[0]);
  CHECK(rec.meta.tracked_ms == 1'700'000'000'000);
  CHECK(rec.meta.id_offset == 1);
  CHECK(rec.meta.id_size == 2);
  CHECK(rec.offset == kSegmentHeaderBytes);
  CHECK(rec.end % 8 == 0);
  CHECK(read_all(buf) == kEvents);
  std::uint64_t corrupt = 99;
  read_all(buf, &corrupt);
  CHECK(corrupt == 0);
}

TEST_CASE("a flipped bit loses only the record it hits") {
  for (std::size_t victim = 0; victim < kEvents.size(); ++victim) {
    auto buf = segment_with(kEvents);
    SegmentReader probe(buf.data(), buf.size(), kSegmentHeaderBytes, record_format(buf.data(), buf.size()));
    RecordView rec;
    for (std::size_t i = 0; i <= victim; ++i) REQUIRE(probe.next(rec));
    for (std::size_t byte : {rec.offset + 1, rec.offset + 6, rec.offset + 12, rec.offset + 26}) {
      auto damaged = buf;
      damaged[byte] ^= 0x10;
      std::uint64_t corrupt = 0;
      auto got = read_all(damaged, &corrupt);
      auto expected = kEvents;
      expected.erase(expected.begin() + static_cast<std::ptrdiff_t>(victim));
      CHECK(got == expected);
      CHECK(corrupt == 1);
    }
  }
}

TEST_CASE("a torn tail is counted and the records before it are kept") {
  auto buf = segment_with(kEvents, 0);
  const std::size_t last = record_size(kEvents.back().size());
  std::uint64_t corrupt = 0;
  auto got = read_all(buf, &corrupt, buf.size() - last / 2);
  CHECK(got == std::vector<std::string>(kEvents.begin(), kEvents.end() - 1));
  CHECK(corrupt == 1);
}

TEST_CASE("zeros end the data, unless records follow them") {
  auto buf = segment_with(kEvents);
  std::uint64_t corrupt = 0;
  CHECK(read_all(buf, &corrupt).size() == kEvents.size());
  CHECK(corrupt == 0);
  // Zero out the second record entirely: the two after it must still be found.
  SegmentReader probe(buf.data(), buf.size(), kSegmentHeaderBytes, record_format(buf.data(), buf.size()));
  RecordView rec;
  REQUIRE(probe.next(rec));
  REQUIRE(probe.next(rec));
  std::fill(buf.begin() + static_cast<std::ptrdiff_t>(rec.offset), buf.begin() + static_cast<std::ptrdiff_t>(rec.end), 0);
  auto got = read_all(buf, &corrupt);
  CHECK(got == std::vector<std::string>{kEvents[0], kEvents[2], kEvents[3]});
  CHECK(corrupt == 1);
}

TEST_CASE("the reader never reads past its bounds on short or hostile input") {
  std::vector<unsigned char> tiny(10, 0xff);
  SegmentReader reader(tiny.data(), tiny.size(), kSegmentHeaderBytes, record_format(tiny.data(), tiny.size()));
  RecordView rec;
  CHECK_FALSE(reader.next(rec));
  // A record header claiming a huge payload.
  auto buf = segment_with({R"({"a":1})"});
  buf[kSegmentHeaderBytes + 4] = 0xff;
  buf[kSegmentHeaderBytes + 5] = 0xff;
  buf[kSegmentHeaderBytes + 6] = 0xff;
  std::uint64_t corrupt = 0;
  CHECK(read_all(buf, &corrupt).empty());
  CHECK(corrupt == 1);
}

TEST_CASE("segment headers: versions, damage and the acked offset") {
  auto buf = segment_with(kEvents);
  auto h = decode_segment_header(buf.data(), buf.size());
  REQUIRE(h.ok());
  CHECK(h->number == 3);
  CHECK(h->owner == 0xabcdefu);
  CHECK(h->acked_offset == kSegmentHeaderBytes);

  store_acked_offset(buf.data(), kSegmentHeaderBytes + record_size(kEvents[0].size()));
  h = decode_segment_header(buf.data(), buf.size());
  REQUIRE(h.ok());
  CHECK(h->acked_offset == kSegmentHeaderBytes + record_size(kEvents[0].size()));
  store_acked_offset(buf.data(), buf.size() + 8);  // out of range reads as nothing acknowledged
  CHECK(decode_segment_header(buf.data(), buf.size())->acked_offset == kSegmentHeaderBytes);

  auto newer = buf;
  SegmentHeader v3 = *decode_segment_header(buf.data(), buf.size());
  v3.version = kSpoolFormatVersion + 1;
  encode_segment_header(newer.data(), v3);
  CHECK(decode_segment_header(newer.data(), newer.size()).status().code() == StatusCode::kFailedPrecondition);
  CHECK(decode_segment_header(newer.data(), newer.size()).status().message().find("newer") != std::string::npos);
  // A flipped bit in the version field is damage (this segment is recovered from), not a newer
  // format (which would refuse the whole spool).
  auto flipped = buf;
  flipped[9] ^= 0x40;
  CHECK(decode_segment_header(flipped.data(), flipped.size()).status().code() == StatusCode::kDataLoss);
  CHECK(is_unused_header(std::vector<unsigned char>(64, 0).data(), 64));
  CHECK_FALSE(is_unused_header(buf.data(), buf.size()));
  auto damaged = buf;
  damaged[20] ^= 1;
  CHECK(decode_segment_header(damaged.data(), damaged.size()).status().code() == StatusCode::kDataLoss);
  CHECK(decode_segment_header(buf.data(), 10).status().code() == StatusCode::kDataLoss);
}

TEST_CASE("the acked offset is checksummed: pointed anywhere by damage, it reads as nothing acknowledged") {
  auto buf = segment_with(kEvents);
  const std::size_t second = kSegmentHeaderBytes + record_size(kEvents[0].size());
  store_acked_offset(buf.data(), second);
  REQUIRE(decode_segment_header(buf.data(), buf.size())->acked_offset == second);
  CHECK_FALSE(decode_segment_header(buf.data(), buf.size())->acked_damaged);
  // Damage that points the offset at a later record boundary must not skip the records before it.
  auto skipped = buf;
  const std::size_t fourth = second + record_size(kEvents[1].size()) + record_size(kEvents[2].size());
  skipped[kSegmentAckedOffsetAt] = static_cast<unsigned char>(fourth);
  skipped[kSegmentAckedOffsetAt + 1] = static_cast<unsigned char>(fourth >> 8);
  auto h = decode_segment_header(skipped.data(), skipped.size());
  REQUIRE(h.ok());
  CHECK(h->acked_damaged);
  CHECK(h->acked_offset == kSegmentHeaderBytes);
  auto scan = scan_segment(skipped.data(), skipped.size());
  REQUIRE(scan.ok());
  CHECK(scan->records == kEvents.size());  // resent rather than lost
  CHECK(scan->corrupt == 1);
  // A word copied from another segment (another header) does not verify either.
  auto other = segment_with(kEvents);
  other[12] = 4;  // another segment number
  SegmentHeader oh = *decode_segment_header(buf.data(), buf.size());
  oh.number = 4;
  encode_segment_header(other.data(), oh);
  std::copy(buf.begin() + kSegmentAckedOffsetAt, buf.begin() + kSegmentAckedOffsetAt + 8,
            other.begin() + kSegmentAckedOffsetAt);
  CHECK(decode_segment_header(other.data(), other.size())->acked_damaged);
}

TEST_CASE("version 1 segments (no acked-offset checksum) are still read") {
  auto buf = segment_with(kEvents, 256, 1);
  auto h = decode_segment_header(buf.data(), buf.size());
  REQUIRE(h.ok());
  CHECK(h->version == 1);
  CHECK(h->capacity == 0);
  const std::size_t second = kSegmentHeaderBytes + record_size(kEvents[0].size());
  store_acked_offset(buf.data(), second);
  CHECK(decode_segment_header(buf.data(), buf.size())->acked_offset == second);
  auto scan = scan_segment(buf.data(), buf.size());
  REQUIRE(scan.ok());
  CHECK(scan->records == kEvents.size() - 1);
  CHECK(scan->corrupt == 0);
}

TEST_CASE("version 2 segments (checksums from 0, zeros after the data) are still read") {
  auto buf = segment_with(kEvents, 256, 2);
  CHECK(record_format(buf.data(), buf.size()).crc_seed == 0);
  CHECK_FALSE(record_format(buf.data(), buf.size()).reused_file);
  auto scan = scan_segment(buf.data(), buf.size());
  REQUIRE(scan.ok());
  CHECK(scan->records == kEvents.size());
  CHECK(scan->corrupt == 0);
  // A v3 reader's seed does not pass a v2 record, and the other way round.
  auto v3 = segment_with(kEvents);
  CHECK(record_format(v3.data(), v3.size()).reused_file);
  std::copy(buf.begin() + kSegmentHeaderBytes, buf.end(), v3.begin() + kSegmentHeaderBytes);
  scan = scan_segment(v3.data(), v3.size());
  REQUIRE(scan.ok());
  CHECK(scan->records == 0);
  CHECK(scan->corrupt == 1);
}

// A file used again: a new header (another number and time, so another checksum), the end mark,
// then `fresh` records of the new use, over what the earlier use left.
std::vector<unsigned char> reuse(std::vector<unsigned char> buf, const std::vector<std::string>& fresh) {
  SegmentHeader h = *decode_segment_header(buf.data(), buf.size());
  h.number += 1;
  h.created_ms += 5000;
  h.acked_offset = kSegmentHeaderBytes;
  encode_segment_header(buf.data(), h);
  mark_end(buf.data(), kSegmentHeaderBytes, buf.size());
  const RecordFormat format = record_format(h, buf.data());
  std::size_t at = kSegmentHeaderBytes;
  for (const auto& e : fresh) {
    mark_end(buf.data(), at + record_size(e.size()), buf.size());
    encode_record(buf.data() + at, e, RecordMeta{1'800'000'000'000, 0, 1}, format);
    at += record_size(e.size());
  }
  return buf;
}

TEST_CASE("a reused segment file: the earlier use's records after the end are neither read nor damage") {
  const auto old = segment_with(kEvents, 0);
  // Nothing written since the reuse: an empty segment, not a damaged one.
  auto scan = scan_segment(reuse(old, {}).data(), old.size());
  REQUIRE(scan.ok());
  CHECK(scan->records == 0);
  CHECK(scan->corrupt == 0);
  CHECK(scan->end == kSegmentHeaderBytes);
  // One short record over the first of the old ones: only it is read, and the data ends after it.
  const std::string fresh = R"({"new":1})";
  auto buf = reuse(old, {fresh});
  scan = scan_segment(buf.data(), buf.size());
  REQUIRE(scan.ok());
  CHECK(scan->records == 1);
  CHECK(scan->corrupt == 0);
  CHECK(scan->corrupt_bytes == 0);
  CHECK(scan->end == kSegmentHeaderBytes + record_size(fresh.size()));
  CHECK(read_all(buf) == std::vector<std::string>{fresh});
  // Without the end mark, the old bytes right after the record read as damage: the mark matters.
  auto unmarked = buf;
  std::copy(old.begin() + static_cast<std::ptrdiff_t>(scan->end), old.begin() + static_cast<std::ptrdiff_t>(scan->end) + 8,
            unmarked.begin() + static_cast<std::ptrdiff_t>(scan->end));
  CHECK(scan_segment(unmarked.data(), unmarked.size())->corrupt == 1);
  // A damaged record of the new use is damage, even as the last one.
  auto flipped = buf;
  flipped[kSegmentHeaderBytes + kRecordHeaderBytes + 2] ^= 0x04;
  scan = scan_segment(flipped.data(), flipped.size());
  REQUIRE(scan.ok());
  CHECK(scan->records == 0);
  CHECK(scan->corrupt == 1);
  // A record lost in the middle (zeros, as a page lost to power loss reads) is damage too.
  auto three = reuse(old, {fresh, R"({"new":2})", R"({"new":3})"});
  const std::size_t second = kSegmentHeaderBytes + record_size(fresh.size());
  std::fill(three.begin() + static_cast<std::ptrdiff_t>(second),
            three.begin() + static_cast<std::ptrdiff_t>(second + record_size(9)), 0);
  std::uint64_t corrupt = 0;
  CHECK(read_all(three, &corrupt) == std::vector<std::string>{fresh, R"({"new":3})"});
  CHECK(corrupt == 1);
  // A damaged header: its stored checksum still tells this use's records from the old ones, and
  // when the damage hit the stored checksum, the checksum of the rest of the header does.
  for (std::size_t byte : {std::size_t{20}, std::size_t{37}}) {
    auto headless = buf;
    headless[byte] ^= 1;
    REQUIRE_FALSE(decode_segment_header(headless.data(), headless.size()).ok());
    scan = scan_segment(headless.data(), headless.size());
    REQUIRE(scan.ok());
    CHECK(scan->records == 1);
    CHECK(scan->corrupt == 1);  // the header
  }
  // A zeroed header (the reused file's, cleared before it was renamed into a segment's name, when
  // the new one did not reach the disk): an unused segment, and the old records are not its own.
  auto cleared = old;
  std::fill(cleared.begin(), cleared.begin() + static_cast<std::ptrdiff_t>(kSegmentHeaderBytes + 8), 0);
  scan = scan_segment(cleared.data(), cleared.size());
  REQUIRE(scan.ok());
  CHECK(scan->unused);
  CHECK(scan->records == 0);
  CHECK(scan->corrupt == 0);
}

TEST_CASE("truncation and damage are reported in bytes, not as one record") {
  auto whole = segment_with(kEvents, 4096);
  for (std::size_t size : {std::size_t{0}, std::size_t{40}}) {
    auto scan = scan_segment(whole.data(), size);
    REQUIRE(scan.ok());
    CHECK(scan->truncated);
    CHECK_FALSE(scan->unused);
  }
  // Cut to its header: everything after it is missing, and the header says how much that is.
  auto scan = scan_segment(whole.data(), kSegmentHeaderBytes);
  REQUIRE(scan.ok());
  CHECK(scan->truncated);
  CHECK(scan->truncated_bytes == whole.size() - kSegmentHeaderBytes);
  // Cut in the middle of the third record: two records kept, the torn one counted by its bytes.
  const std::size_t third = kSegmentHeaderBytes + record_size(kEvents[0].size()) + record_size(kEvents[1].size());
  scan = scan_segment(whole.data(), third + 100);
  REQUIRE(scan.ok());
  CHECK(scan->records == 2);
  CHECK(scan->truncated);
  CHECK(scan->truncated_bytes == whole.size() - third - 100);
  CHECK(scan->corrupt == 1);
  CHECK(scan->corrupt_bytes == 96);  // to the last whole 8 bytes before the cut
  // A damaged stretch inside counts the bytes up to the next valid record.
  auto flipped = whole;
  flipped[third + kRecordHeaderBytes + 5] ^= 1;
  scan = scan_segment(flipped.data(), flipped.size());
  REQUIRE(scan.ok());
  CHECK(scan->records == kEvents.size() - 1);
  CHECK(scan->corrupt == 1);
  CHECK(scan->corrupt_bytes == record_size(kEvents[2].size()));
  // A file longer than its header's capacity: only the capacity is read.
  auto longer = whole;
  longer.resize(whole.size() + 4096, 0xEE);
  scan = scan_segment(longer.data(), longer.size());
  REQUIRE(scan.ok());
  CHECK(scan->records == kEvents.size());
  CHECK(scan->corrupt == 0);
}

TEST_CASE("segment file names round-trip and nothing else parses") {
  SegmentName n{0x0123456789abcdefull, 42};
  const std::string name = segment_file_name(n);
  CHECK(name == "0123456789abcdef-00000042.seg");
  SegmentName back;
  REQUIRE(parse_segment_name(name, back));
  CHECK(back.owner == n.owner);
  CHECK(back.number == 42);
  for (const char* bad : {"0123456789abcdef-00000042.seg.tmp", "0123456789ABCDEF-00000042.seg", "x.seg",
                          "0123456789abcdef.lock", "0123456789abcdef-0000004x.seg", ""}) {
    CHECK_FALSE(parse_segment_name(bad, back));
  }
}

}  // TEST_SUITE
