// The spool segment reader on arbitrary bytes (a damaged or hostile segment file). Whatever it
// returns must lie inside the input, move strictly forward, and re-encode to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "spool/segment_format.hpp"

using namespace referkit::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto header = decode_segment_header(data, size);
  const std::size_t start = header ? header->acked_offset : kSegmentHeaderBytes;
  if (header && (start < kSegmentHeaderBytes || start > size)) std::abort();
  const RecordFormat format = record_format(data, size);
  SegmentReader reader(data, size, start, format);
  RecordView rec;
  std::size_t last_end = 0;
  std::vector<unsigned char> again;
  while (reader.next(rec)) {
    if (rec.offset < last_end || rec.end <= rec.offset || rec.end > size || rec.end % 8 != 0) std::abort();
    if (rec.json.empty() || std::size_t{rec.meta.id_offset} + rec.meta.id_size > rec.json.size()) std::abort();
    const auto* json_at = reinterpret_cast<const std::uint8_t*>(rec.json.data());
    if (json_at < data + rec.offset || json_at + rec.json.size() > data + rec.end) std::abort();
    again.assign(rec.end - rec.offset, 0xAA);
    encode_record(again.data(), rec.json, rec.meta, format);
    // Padding is not checksummed (and not read): compare the header and the payload.
    if (std::memcmp(again.data(), data + rec.offset, kRecordHeaderBytes + rec.json.size()) != 0) std::abort();
    last_end = rec.end;
  }
  if (reader.position() > size) std::abort();
  return 0;
}
