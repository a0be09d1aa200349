// Certificates made at test time for the TLS tests: a throwaway CA, and server certificates for
// 127.0.0.1 that are good, or wrong in exactly one way. Nothing is read from or written to the
// system's trust store: a client trusts the CA only when given its file (CURLOPT_CAINFO).
#ifndef REFERKIT_TESTS_SUPPORT_TEST_CERTIFICATES_HPP
#define REFERKIT_TESTS_SUPPORT_TEST_CERTIFICATES_HPP

#include <filesystem>
#include <string>

namespace referkit::test {

enum class ServerCertificate {
  kGood,        // signed by the CA, for IP 127.0.0.1 and DNS localhost, valid now
  kSelfSigned,  // for 127.0.0.1, valid now, but signed by itself
  kWrongHost,   // signed by the CA, valid now, but only for DNS wrong.example
  kExpired,     // signed by the CA, for 127.0.0.1, but expired yesterday
};

struct TlsFiles {
  std::string ca_file;    // the CA's certificate (PEM): what a client is told to trust
  std::string cert_file;  // the server's certificate (PEM)
  std::string key_file;   // the server's private key (PEM)
};

// Writes ca.pem, <kind>.pem and <kind>.key into `dir` (EC P-256 keys, SHA-256 signatures).
// Throws std::runtime_error when OpenSSL fails.
TlsFiles make_test_certificates(const std::filesystem::path& dir, ServerCertificate kind);

}  // namespace referkit::test

#endif  // REFERKIT_TESTS_SUPPORT_TEST_CERTIFICATES_HPP
