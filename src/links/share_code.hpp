// Share codes: [PREFIX-]XXXX-XXXXC. PREFIX is the referrer's first name folded to ASCII letters,
// X are 8 Crockford base32 symbols (40 bits of a keyed hash), C is a Luhn mod 32 check symbol over
// prefix and body, so any single mistyped character is caught offline.
#ifndef REFERKIT_SRC_LINKS_SHARE_CODE_HPP
#define REFERKIT_SRC_LINKS_SHARE_CODE_HPP

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/hmac_sha256.hpp"
#include "referkit/status.hpp"

namespace referkit::detail {

inline constexpr std::size_t kMaxPrefixLetters = 16;

// Offensive words, matched after folding look-alikes (0->O, 1/L->I, 3->E, 4->A, 5->S, 7->T...).
// Words of three letters or fewer must be the whole prefix; longer ones match anywhere. Bodies
// are checked for any listed word of three or more letters.
class Blocklist {
 public:
  explicit Blocklist(const std::vector<std::string>& extra_words);
  bool blocks_prefix(std::string_view letters) const;
  bool blocks_body(std::string_view symbols) const;

 private:
  // Words are at most 8 letters, so one word compares as one masked 64-bit load.
  struct Word {
    std::uint64_t bits;
    std::uint64_t mask;
    std::size_t size;
  };
  // Whether a listed word of at least min_len letters starts at folded[pos]; folded must have
  // 8 readable bytes from pos (zero padded).
  bool word_at(const char* folded, std::size_t pos, std::size_t min_len) const;

  // Bucketed by first letter: every create() checks two strings, so a scan touches only the
  // few words that can start at each position.
  std::vector<Word> by_first_letter_[26];
  // Bit s of entry f: some word starts with letters f, s. Words have at least three letters, so
  // this settles nearly every position of a random body at once, without a mispredicted scan.
  std::uint32_t second_letters_[26] = {};
};

// Extra blocklist words: 3-8 ASCII letters.
bool valid_blocklist_word(std::string_view word);

// The first word of a display name folded to at most max_letters upper-case ASCII letters
// ("José Núñez" -> "JOSE"). Empty when the name yields fewer than two letters or is blocked.
// kInvalidArgument on invalid UTF-8.
Result<std::string> name_prefix(std::string_view name, std::size_t max_letters, const Blocklist& blocklist);

struct ShareCode {
  std::string prefix;       // upper-case letters, possibly empty
  std::uint64_t value = 0;  // 40 bits
};

// The 40-bit value for a referral: the first of HMAC(key, fields, counter) for counter 0, 1, ...
// whose spelling contains no blocked word.
std::uint64_t share_code_value(const HmacSha256& key, std::string_view campaign,
                               std::string_view referrer, std::string_view prefix,
                               const Blocklist& blocklist);

// share_code_value in two steps, for a caller that computes the first MAC itself (mint() pairs it
// with the token's tag). The MAC input is the fields, each length-framed, then the counter byte.
struct ShareCodeInput {
  char bytes[3 + 255 * 3 + 1];
  std::size_t size = 0;  // counter byte included
  // The input for counter 0: share_code_value rewrites the counter byte when it re-derives.
  std::string_view counter_zero() const { return {bytes, size}; }
};
ShareCodeInput share_code_input(std::string_view campaign, std::string_view referrer, std::string_view prefix);
// first: HMAC(key, input.counter_zero()).
std::uint64_t share_code_value(const HmacSha256& key, ShareCodeInput& input, const Sha256Digest& first,
                               const Blocklist& blocklist);

std::string format_share_code(const ShareCode& code);

// Accepts any case, hyphens and spaces anywhere, and Crockford's I/L -> 1, O -> 0 in the body.
// kMalformed on anything else, including a wrong check symbol.
Result<ShareCode> parse_share_code(std::string_view text);

}  // namespace referkit::detail

#endif  // REFERKIT_SRC_LINKS_SHARE_CODE_HPP
