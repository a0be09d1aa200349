#include "json/json_text.hpp"

#include <cstdint>

#include "common/text.hpp"
#include "common/utf8.hpp"
#include "json/json_writer.hpp"

namespace referkit::detail {
namespace {

constexpr std::uint64_t kOnes = 0x0101010101010101;
constexpr std::uint64_t kHighBits = 0x8080808080808080;

// True when none of the 8 bytes needs attention: no non-ASCII (UTF-8 to check), no control
// character, quote or backslash (to escape). A subtraction borrows out of a byte, setting its
// top bit, exactly when that byte is below the subtrahend: b - 0x20 flags controls, and (b ^ q)
// - 1 flags b == q. Borrows also ripple into higher bytes, but only from a byte already flagged,
// so the yes/no answer is exact. For ASCII bytes no result byte reaches 0x80 otherwise, and a
// non-ASCII byte is flagged by its own top bit.
constexpr bool is_plain_block(std::uint64_t w) {
  const std::uint64_t needs_care = (w | (w - 0x20 * kOnes) | ((w ^ ('"' * kOnes)) - kOnes) |
                                    ((w ^ ('\\' * kOnes)) - kOnes)) &
                                   kHighBits;
  return needs_care == 0;
}

static_assert(is_plain_block(0x6162636465666768));   // "abcdefgh"
static_assert(!is_plain_block(0x6162632264656667));  // a quote
static_assert(!is_plain_block(0x616263645c656667));  // a backslash
static_assert(!is_plain_block(0x616263641f656667));  // a control character
static_assert(!is_plain_block(0x61626364c3a96667));  // non-ASCII
static_assert(!is_plain_block(0x6162636400656667));  // NUL
static_assert(is_plain_block(0x7e7d7c5b5d232120));   // "~}|[]#! ": neighbours of what needs care
static_assert(!is_plain_block(0x7f7f7f7f7f7f7f80));  // non-ASCII in the lowest byte
static_assert(!is_plain_block(0x2261616161616161));  // a quote in the highest byte

std::uint64_t load8(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);  // byte order is irrelevant: every byte is tested alike
  return w;
}

void store8(char* p, std::uint64_t w) { std::memcpy(p, &w, 8); }

// The 1-7 bytes of a short string as one block, padded with a byte that never needs care. Built
// from whole loads that may overlap, never by a variable-length memcpy into a stack word: that
// compiles to piecewise stores whose reload stalls (store forwarding fails), which made this
// loop three times slower on short keys. Forced inline: with two instantiations of the escaper
// calling it, GCC would otherwise make it an out-of-line call on the hottest path.
[[gnu::always_inline]] inline std::uint64_t load_short(const char* p, std::size_t n) {
  if (n >= 4) {
    std::uint32_t head;
    std::uint32_t tail;
    std::memcpy(&head, p, 4);
    std::memcpy(&tail, p + n - 4, 4);
    return head | std::uint64_t{tail} << 32;
  }
  const auto byte = [p](std::size_t i) { return std::uint64_t{static_cast<unsigned char>(p[i])}; };
  constexpr std::uint64_t kPlainFill = 'a' * kOnes;
  return (kPlainFill & ~std::uint64_t{0xffffff}) | byte(0) | byte(n / 2) << 8 | byte(n - 1) << 16;
}

// Copies the 1-7 bytes of a short string with the same overlapping accesses.
[[gnu::always_inline]] inline void copy_short(char* out, const char* p, std::size_t n) {
  if (n >= 4) {
    char head[4];
    char tail[4];
    std::memcpy(head, p, 4);
    std::memcpy(tail, p + n - 4, 4);
    std::memcpy(out + n - 4, tail, 4);
    std::memcpy(out, head, 4);
    return;
  }
  const char first = p[0];
  const char middle = p[n / 2];
  const char last = p[n - 1];
  out[n - 1] = last;
  out[n / 2] = middle;
  out[0] = first;
}

// Writes the escape for c (a control character, quote or backslash); returns its length.
[[gnu::always_inline]] inline std::size_t write_escape(char* out, unsigned char c) {
  char short_form = 0;
  switch (c) {
    case '"': short_form = '"'; break;
    case '\\': short_form = '\\'; break;
    case '\n': short_form = 'n'; break;
    case '\r': short_form = 'r'; break;
    case '\t': short_form = 't'; break;
    case '\b': short_form = 'b'; break;
    case '\f': short_form = 'f'; break;
    default: break;
  }
  out[0] = '\\';
  if (short_form != 0) {
    out[1] = short_form;
    return 2;
  }
  const char rest[5] = {'u', '0', '0', kLowerHexDigits[c >> 4], kLowerHexDigits[c & 15]};
  std::memcpy(out + 1, rest, sizeof rest);
  return 6;
}

}  // namespace

void JsonOutput::grow(std::size_t n) {
  const std::size_t used = size();
  const std::size_t capacity = static_cast<std::size_t>(end_ - begin_);
  out_.resize(used + n > 2 * capacity ? used + n : 2 * capacity);
  begin_ = &out_[0];
  cursor_ = begin_ + used;
  end_ = begin_ + out_.size();
}

template <bool kCheckUtf8>
bool JsonOutput::put_string_impl(std::string_view s) {
  // Nothing but loads, tests and stores, and tail calls to put_string_general: with no call to
  // come back from, no register needs saving and restoring (that general function's pushes and
  // pops were a fifth of a short string's instructions). When a block needs care or the buffer
  // must grow, put_string_general starts over from the opening quote: nothing is committed
  // before the end (cursor_ has not moved), so the bytes written so far are written again.
  const char* const data = s.data();
  const std::size_t n = s.size();
  if (static_cast<std::size_t>(end_ - cursor_) < n + 2) return put_string_general<kCheckUtf8>(s);
  char* const out = cursor_ + 1;
  out[-1] = '"';
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const std::uint64_t w = load8(data + i);
    if (!is_plain_block(w)) return put_string_general<kCheckUtf8>(s);
    store8(out + i, w);
  }
  if (i < n) {
    if (n >= 8) {
      // The last 1-7 bytes as the last 8, overlapping plain bytes already written (the same
      // bytes stored again).
      const std::uint64_t w = load8(data + n - 8);
      if (!is_plain_block(w)) return put_string_general<kCheckUtf8>(s);
      store8(out + n - 8, w);
    } else {
      if (!is_plain_block(load_short(data, n))) return put_string_general<kCheckUtf8>(s);
      copy_short(out, data, n);
    }
  }
  out[n] = '"';
  cursor_ = out + n + 1;
  return true;
}

// Every string: plain blocks as above, and byte by byte through a block that needs care.
template <bool kCheckUtf8>
[[gnu::noinline]] bool JsonOutput::put_string_general(std::string_view s) {
  const char* const data = s.data();
  const std::size_t n = s.size();
  reserve(n + 2);  // exact unless something needs escaping
  // Plain bytes are copied as they are tested (load, test, store 8 at a time) rather than
  // remembered and copied later by memcpy: a library call per string cost more than the scan.
  char* out = cursor_;
  *out++ = '"';
  std::size_t i = 0;
  while (i < n) {
    const std::size_t left = n - i;
    if (left >= 8) {
      const std::uint64_t w = load8(data + i);
      if (is_plain_block(w)) {
        store8(out, w);
        out += 8;
        i += 8;
        continue;
      }
    } else if (n >= 8) {
      // A tail shorter than 8 is tested as the last 8 bytes, overlapping some already written.
      // If that block is plain, the overlapped bytes were plain too, so they were written as is
      // and storing the block over them rewrites the same bytes.
      const std::uint64_t w = load8(data + n - 8);
      if (is_plain_block(w)) {
        store8(out + left - 8, w);
        out += left;
        break;
      }
    } else if (is_plain_block(load_short(data, n))) {  // a whole string of 1-7 bytes
      copy_short(out, data, n);
      out += n;
      break;
    }
    // Somewhere in these 8 bytes is something to check or escape: go byte by byte through them.
    const std::size_t stop = left < 8 ? n : i + 8;
    while (i < stop) {
      const auto c = static_cast<unsigned char>(data[i]);
      if ((c >= 0x20 && c != '"' && c != '\\' && c < 0x80) || (c >= 0x80 && !kCheckUtf8)) {
        *out++ = static_cast<char>(c);
        ++i;
      } else if (c >= 0x80) {
        // Through a copy: were `i` itself passed by reference, it would live in memory for the
        // whole loop.
        std::size_t pos = i;
        if (decode_utf8(s, pos) < 0) {  // advances pos past a valid sequence
          cursor_ = out;
          return false;
        }
        while (i < pos) *out++ = data[i++];
        break;  // it may have ended past `stop`: resume in blocks from there
      } else {
        ++i;
        cursor_ = out;
        reserve(6 + (n - i) + 1);  // this escape, the rest unescaped, the closing quote
        out = cursor_;
        out += write_escape(out, c);
      }
    }
  }
  *out++ = '"';
  cursor_ = out;
  return true;
}

template bool JsonOutput::put_string_impl<true>(std::string_view s);
template bool JsonOutput::put_string_impl<false>(std::string_view s);

void append_json_string(std::string& out, std::string_view s) {
  JsonOutput o(out, s.size() + 2, JsonOutput::Append{});
  o.put_trusted_string(s);
  o.finish();
}

}  // namespace referkit::detail
