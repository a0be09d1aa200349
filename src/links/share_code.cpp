#include "links/share_code.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "common/utf8.hpp"

namespace referkit::detail {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::size_t kBodySymbols = 8;
constexpr std::size_t kCodeSymbols = kBodySymbols + 1;  // plus the check symbol
constexpr unsigned kMaxDerivations = 32;  // a blocked spelling is re-derived; 32 misses is ~never

// Built-in list; merchants add their own through LinkSignerOptions::extra_blocklist.
constexpr const char* kBuiltinWords[] = {
    "ANAL",  "ANUS",   "ARSE",  "ASS",   "BITCH", "BOOB",  "CHINK", "COCK",   "COON",
    "CRAP",  "CUM",    "CUNT",  "DICK",  "DIE",   "DILDO", "DYKE",  "FAG",    "FCK",
    "FUCK",  "FUK",    "HITLER","HOMO",  "JIZZ",  "KIKE",  "KILL",  "KKK",    "NAZI",
    "NIGGA", "NIGGER", "PENIS", "PISS",  "PORN",  "PUSSY", "RAPE",  "RETARD", "SEX",
    "SHIT",  "SLUT",   "SPIC",  "SUX",   "TIT",   "TWAT",  "VAGINA","WANK",   "WHORE",
};

// Look-alikes folded together, so "5H1T" and "SHIT" compare equal. A table, because every
// create() folds a prefix and at least one body.
constexpr std::array<char, 256> make_lookalike_table() {
  std::array<char, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    char c = static_cast<char>(i);
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    switch (c) {
      case '0': c = 'O'; break;
      case '1': case 'L': c = 'I'; break;
      case '2': c = 'Z'; break;
      case '3': c = 'E'; break;
      case '4': c = 'A'; break;
      case '5': c = 'S'; break;
      case '6': case '9': c = 'G'; break;
      case '7': c = 'T'; break;
      case '8': c = 'B'; break;
      default: break;
    }
    table[i] = c;
  }
  return table;
}
constexpr auto kLookalike = make_lookalike_table();

char fold_lookalike(char c) { return kLookalike[static_cast<unsigned char>(c)]; }

// ASCII base letters of U+00C0..U+00FF and U+0100..U+017F; '*' marks a two-letter fold, '.' a
// non-letter.
constexpr std::string_view kLatin1Fold = "AAAAAA*CEEEEIIIIDNOOOOO.OUUUUY**aaaaaa*ceeeeiiiidnooooo.ouuuuy*y";
constexpr std::string_view kLatinExtAFold =
    "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi**JjKkkLlLlLlLlLlNnNnNnnNnOoOoOo**RrRrRr"
    "SsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";
static_assert(kLatin1Fold.size() == 64 && kLatinExtAFold.size() == 128);

// Appends the upper-case ASCII letters a code point folds to (none for non-letters).
void append_folded(std::int32_t cp, std::string& out) {
  auto put = [&](char c) { out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; };
  if ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z')) return put(static_cast<char>(cp));
  char folded = '.';
  if (cp >= 0xc0 && cp <= 0xff) folded = kLatin1Fold[static_cast<std::size_t>(cp - 0xc0)];
  if (cp >= 0x100 && cp <= 0x17f) folded = kLatinExtAFold[static_cast<std::size_t>(cp - 0x100)];
  if (folded != '*') {
    if (folded != '.') put(folded);
    return;
  }
  switch (cp) {
    case 0xc6: case 0xe6: out += "AE"; break;
    case 0xde: case 0xfe: out += "TH"; break;
    case 0xdf: out += "SS"; break;
    case 0x132: case 0x133: out += "IJ"; break;
    case 0x152: case 0x153: out += "OE"; break;
    default: break;
  }
}

bool is_space(std::int32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0xa0 || cp == 0x3000;
}

// Symbol values, either case, with O -> 0 and I/L -> 1; -1 for anything else. A table: a scan of
// the alphabet per symbol was most of a share code's verification.
constexpr std::array<std::int8_t, 256> make_crockford_table() {
  std::array<std::int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 32; ++i) {
    const char c = kCrockford[i];
    table[static_cast<unsigned char>(c)] = static_cast<std::int8_t>(i);
    if (c >= 'A' && c <= 'Z') table[static_cast<unsigned char>(c - 'A' + 'a')] = static_cast<std::int8_t>(i);
  }
  for (char c : {'O', 'o'}) table[static_cast<unsigned char>(c)] = 0;
  for (char c : {'I', 'i', 'L', 'l'}) table[static_cast<unsigned char>(c)] = 1;
  return table;
}
constexpr auto kCrockfordValue = make_crockford_table();

int crockford_value(char c) { return kCrockfordValue[static_cast<unsigned char>(c)]; }

// The check symbol: Luhn mod 32 over the body, which catches every single substituted body
// symbol, plus the sum of the prefix letters (A=1..Z=26) mod 32, which changes whenever one letter
// is substituted, added or removed (each changes the sum by 1..26, never by a multiple of 32).
unsigned check_value(const ShareCode& code) {
  // Right to left from the check symbol, factors 2, 1, 2, 1...: two symbols per step, with fixed
  // shifts (a variable shift and a factor toggle per symbol cost twice the instructions).
  std::uint64_t value = code.value;
  unsigned sum = 0;
  for (std::size_t i = 0; i < kBodySymbols; i += 2, value >>= 10) {
    const unsigned doubled = static_cast<unsigned>(value & 31) * 2;
    sum += doubled / 32 + doubled % 32 + static_cast<unsigned>(value >> 5 & 31);
  }
  unsigned luhn = (32 - sum % 32) % 32;
  unsigned letters = 0;
  for (char c : code.prefix) letters += static_cast<unsigned>(c - 'A' + 1);
  return (luhn + letters) % 32;
}

bool is_separator(char c) { return c == '-' || c == ' '; }

using BodySymbols = std::array<char, kBodySymbols>;

// From the last symbol back, five bits at a time: a fixed shift per step (a shift by 5 * (7 - i)
// per symbol was ~18 instructions a symbol, and every mint spells two bodies).
BodySymbols body_symbols(std::uint64_t value) {
  BodySymbols out;
  for (std::size_t i = kBodySymbols; i-- > 0; value >>= 5) out[i] = kCrockford[value & 31];
  return out;
}

}  // namespace

namespace {

constexpr std::size_t kMaxWordLetters = 8;

std::uint64_t load8(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

bool valid_blocklist_word(std::string_view word) {
  if (word.size() < 3 || word.size() > kMaxWordLetters) return false;
  return std::all_of(word.begin(), word.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); });
}

Blocklist::Blocklist(const std::vector<std::string>& extra_words) {
  auto add = [this](std::string_view word) {
    if (!valid_blocklist_word(word)) return;
    char buf[kMaxWordLetters] = {};
    for (std::size_t i = 0; i < word.size(); ++i) buf[i] = fold_lookalike(word[i]);
    const std::uint64_t mask = word.size() == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * word.size())) - 1;
    by_first_letter_[buf[0] - 'A'].push_back(Word{load8(buf) & mask, mask, word.size()});
    second_letters_[buf[0] - 'A'] |= std::uint32_t{1} << (buf[1] - 'A');
  };
  for (const char* w : kBuiltinWords) add(w);
  for (const std::string& w : extra_words) add(w);
}

// Inline: it runs for every position of every prefix and body, and nearly always returns at
// the letter-pair test, so an out-of-line call cost more than the test itself.
inline bool Blocklist::word_at(const char* folded, std::size_t pos, std::size_t min_len) const {
  const char first = folded[pos];
  const char second = folded[pos + 1];
  if (first < 'A' || first > 'Z' || second < 'A' || second > 'Z') return false;
  if ((second_letters_[first - 'A'] >> (second - 'A') & 1) == 0) return false;
  const std::uint64_t text = load8(folded + pos);
  for (const Word& w : by_first_letter_[first - 'A']) {
    if (w.size >= min_len && (text & w.mask) == w.bits) return true;
  }
  return false;
}

bool Blocklist::blocks_prefix(std::string_view letters) const {
  char buf[kMaxPrefixLetters + 8] = {};
  if (letters.empty() || letters.size() > kMaxPrefixLetters) return false;
  for (std::size_t i = 0; i < letters.size(); ++i) buf[i] = fold_lookalike(letters[i]);
  // Words of three letters or fewer block only the whole prefix ("ASS" must not block
  // "CASSANDRA"); the zero padding after a short prefix makes a match at 0 the whole prefix.
  if (letters.size() <= 3) return word_at(buf, 0, 0);
  for (std::size_t pos = 0; pos < letters.size(); ++pos) {
    if (word_at(buf, pos, 4)) return true;
  }
  return false;
}

bool Blocklist::blocks_body(std::string_view symbols) const {
  char buf[kBodySymbols + 8] = {};
  if (symbols.size() != kBodySymbols) return false;
  for (std::size_t i = 0; i < kBodySymbols; ++i) buf[i] = fold_lookalike(symbols[i]);
  for (std::size_t pos = 0; pos < kBodySymbols; ++pos) {
    if (word_at(buf, pos, 3)) return true;
  }
  return false;
}

Result<std::string> name_prefix(std::string_view name, std::size_t max_letters, const Blocklist& blocklist) {
  if (!is_valid_utf8(name)) return Status(StatusCode::kInvalidArgument, "name is not valid UTF-8");
  std::string letters;
  std::size_t pos = 0;
  while (pos < name.size() && letters.size() < max_letters) {
    // ASCII inline: names are mostly ASCII, and the name is already known to be valid UTF-8.
    std::int32_t cp = static_cast<unsigned char>(name[pos]);
    if (cp < 0x80) {
      ++pos;
    } else {
      cp = decode_utf8(name, pos);
    }
    if (is_space(cp)) {
      if (!letters.empty()) break;  // the first word only
      continue;
    }
    append_folded(cp, letters);
  }
  if (letters.size() > max_letters) letters.resize(max_letters);
  if (letters.size() < 2 || blocklist.blocks_prefix(letters)) return std::string();
  return letters;
}

ShareCodeInput share_code_input(std::string_view campaign, std::string_view referrer, std::string_view prefix) {
  // Each field length-framed, in one buffer: one hash update instead of seven. Callers bound
  // the fields (campaign 64, referrer 128, prefix 16 bytes).
  ShareCodeInput in;
  std::size_t n = 0;
  for (std::string_view field : {campaign, referrer, prefix}) {
    const std::size_t len = field.size() < 255 ? field.size() : 255;
    in.bytes[n++] = static_cast<char>(len);
    std::memcpy(in.bytes + n, field.data(), len);
    n += len;
  }
  in.bytes[n++] = 0;  // the counter
  in.size = n;
  return in;
}

std::uint64_t share_code_value(const HmacSha256& key, ShareCodeInput& input, const Sha256Digest& first,
                               const Blocklist& blocklist) {
  Sha256Digest d = first;
  std::uint64_t value = 0;
  // As many derivations as before the split: counter 0 (first) to kMaxDerivations - 1, the last
  // value kept even if blocked.
  for (unsigned counter = 0;;) {
    value = 0;
    for (std::size_t i = 0; i < 5; ++i) value = value << 8 | d[i];
    const BodySymbols body = body_symbols(value);
    if (!blocklist.blocks_body(std::string_view(body.data(), body.size())) || ++counter == kMaxDerivations) break;
    input.bytes[input.size - 1] = static_cast<char>(counter);
    d = key.mac(std::string_view(input.bytes, input.size));
  }
  return value;
}

std::uint64_t share_code_value(const HmacSha256& key, std::string_view campaign,
                               std::string_view referrer, std::string_view prefix,
                               const Blocklist& blocklist) {
  ShareCodeInput input = share_code_input(campaign, referrer, prefix);
  return share_code_value(key, input, key.mac(input.counter_zero()), blocklist);
}

std::string format_share_code(const ShareCode& code) {
  const BodySymbols body = body_symbols(code.value);
  std::string out(code.prefix.size() + (code.prefix.empty() ? 0 : 1) + kCodeSymbols + 1, '-');
  char* o = out.data();
  if (!code.prefix.empty()) {
    std::memcpy(o, code.prefix.data(), code.prefix.size());
    o += code.prefix.size() + 1;  // past the '-'
  }
  std::memcpy(o, body.data(), 4);
  std::memcpy(o + 5, body.data() + 4, 4);
  o[9] = kCrockford[check_value(code)];
  return out;
}

// Separators are accepted only where format_share_code puts them (or nowhere), so that replacing
// any one character, separators included, always changes the code or breaks its form.
Result<ShareCode> parse_share_code(std::string_view text) {
  auto malformed = [](const char* why) { return Status(StatusCode::kMalformed, why); };
  if (text.size() > kMaxPrefixLetters + kCodeSymbols + 2) return malformed("share code too long");
  auto take_symbols = [&](std::size_t n, std::uint64_t& acc) {
    if (text.size() < n) return false;
    for (char c : text.substr(text.size() - n)) {
      int v = crockford_value(c);
      if (v < 0) return false;
      acc = acc << 5 | static_cast<unsigned>(v);
    }
    text.remove_suffix(n);
    return true;
  };
  auto drop_separator = [&] {
    if (!text.empty() && is_separator(text.back())) text.remove_suffix(1);
  };
  std::uint64_t tail = 0;  // the last four body symbols and the check symbol
  std::uint64_t head = 0;
  if (!take_symbols(5, tail)) return malformed("share code must end in five base32 symbols");
  drop_separator();
  if (!take_symbols(4, head)) return malformed("share code must have eight base32 symbols and a check");
  drop_separator();
  ShareCode code;
  if (!text.empty()) {
    if (text.size() < 2 || text.size() > kMaxPrefixLetters) return malformed("share code prefix must be 2-16 letters");
    for (char c : text) {
      char upper = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
      if (upper < 'A' || upper > 'Z') return malformed("share code prefix must be letters");
      code.prefix += upper;
    }
  }
  code.value = head << 20 | tail >> 5;
  if ((tail & 31) != check_value(code)) {
    return malformed("share code check symbol does not match (a typo?)");
  }
  return code;
}

}  // namespace referkit::detail
