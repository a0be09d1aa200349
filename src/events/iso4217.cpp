#include "events/iso4217.hpp"

#include <cstddef>
#include <cstdint>

namespace referkit::detail {
namespace {

struct Currency {
  char code[4];
  int exponent;
};

// ISO 4217 list one, active codes with a numeric minor unit, sorted by code (kept sorted and
// checked unique at compile time, so a duplicate or a typo'd order cannot slip in).
// Codes in withdrawal (ANG for XCG, SLL for SLE, ZWL for ZWG, and CUC) are kept: merchants'
// systems go on emitting an old code for a while, and refusing the event would lose a real order.
constexpr Currency kCurrencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2},
    {"ARS", 2}, {"AUD", 2}, {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2},
    {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2},
    {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2},
    {"CHW", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2},
    {"CRC", 2}, {"CUC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0},
    {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2},
    {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2},
    {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2},
    {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2},
    {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0},
    {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0},
    {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2},
    {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2},
    {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2},
    {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MXV", 2}, {"MYR", 2}, {"MZN", 2},
    {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2},
    {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2},
    {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2},
    {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2},
    {"SGD", 2}, {"SHP", 2}, {"SLE", 2}, {"SLL", 2}, {"SOS", 2}, {"SRD", 2},
    {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2}, {"THB", 2},
    {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2},
    {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2},
    {"UYI", 0}, {"UYU", 2}, {"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2},
    {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2},
    {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
    {"ZWL", 2},
};

// Codes as 24-bit integers, to check the list's order.
constexpr std::uint32_t key_of(const char* code) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(code[0])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(code[1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(code[2]));
}

constexpr std::size_t kCount = sizeof kCurrencies / sizeof kCurrencies[0];

constexpr bool is_sorted_strictly() {
  for (std::size_t i = 1; i < kCount; ++i) {
    if (key_of(kCurrencies[i - 1].code) >= key_of(kCurrencies[i].code)) return false;
  }
  return true;
}
static_assert(is_sorted_strictly(), "kCurrencies must stay sorted and unique");

// Every three-letter code's exponent, or -1, indexed by the letters as a base-26 number: one
// load per lookup (track() looks up every amount of every order), where a binary search over
// the list took eight dependent, poorly predicted steps. 17,576 bytes, built from kCurrencies at
// compile time, so the list above stays the one place to edit.
struct ExponentTable {
  std::int8_t at[26 * 26 * 26];
  constexpr ExponentTable() : at() {
    for (auto& e : at) e = -1;
    for (const Currency& c : kCurrencies) {
      at[((c.code[0] - 'A') * 26 + (c.code[1] - 'A')) * 26 + (c.code[2] - 'A')] = static_cast<std::int8_t>(c.exponent);
    }
  }
};
constexpr ExponentTable kExponentByCode;

}  // namespace

int iso4217_exponent(std::string_view code) noexcept {
  if (code.size() != 3) return -1;
  const auto letter = [&](std::size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(code[i]) - 'A'); };
  const unsigned a = letter(0);
  const unsigned b = letter(1);
  const unsigned c = letter(2);
  if (a >= 26 || b >= 26 || c >= 26) return -1;  // not three upper-case letters
  return kExponentByCode.at[(a * 26 + b) * 26 + c];  // -1 for a code not listed
}

}  // namespace referkit::detail
