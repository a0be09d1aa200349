#include "support/test_certificates.hpp"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>

namespace referkit::test {
namespace {

constexpr long kDay = 24 * 60 * 60;

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;

[[noreturn]] void fail(const char* what) {
  char detail[256] = "";
  ERR_error_string_n(ERR_get_error(), detail, sizeof detail);
  throw std::runtime_error(std::string("test certificates: ") + what + ": " + detail);
}

Key new_key() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) fail("EVP_EC_gen");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) fail(value);
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (added != 1) fail("X509_add_ext");
}

// A certificate for `key`, valid from `from` to `to` seconds relative to now, named `common_name`.
// Its issuer (name, and key for signing) is set by the caller through sign().
Cert new_cert(EVP_PKEY* key, long serial, const char* common_name, long from, long to) {
  Cert cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 || ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), from) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), to) == nullptr || X509_set_pubkey(cert.get(), key) != 1 ||
      X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0) != 1) {
    fail("X509 fields");
  }
  return cert;
}

void sign(X509* cert, X509* issuer, EVP_PKEY* issuer_key) {
  if (X509_set_issuer_name(cert, X509_get_subject_name(issuer)) != 1) fail("X509_set_issuer_name");
  if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0) fail("X509_sign");
}

void write_pem(const std::filesystem::path& path, const std::function<int(BIO*)>& write) {
  std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) fail("PEM write");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  std::ofstream out(path, std::ios::binary);
  out.write(data, size);
  out.close();
  if (!out) throw std::runtime_error("test certificates: cannot write " + path.string());
}

const char* name_of(ServerCertificate kind) {
  switch (kind) {
    case ServerCertificate::kGood: return "good";
    case ServerCertificate::kSelfSigned: return "self-signed";
    case ServerCertificate::kWrongHost: return "wrong-host";
    case ServerCertificate::kExpired: return "expired";
  }
  return "unknown";
}

}  // namespace

TlsFiles make_test_certificates(const std::filesystem::path& dir, ServerCertificate kind) {
  Key ca_key = new_key();
  Cert ca = new_cert(ca_key.get(), 1, "referkit test CA", -kDay, 30 * kDay);
  add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  sign(ca.get(), ca.get(), ca_key.get());

  const bool expired = kind == ServerCertificate::kExpired;
  Key key = new_key();
  Cert cert = new_cert(key.get(), 2, kind == ServerCertificate::kWrongHost ? "wrong.example" : "127.0.0.1",
                       expired ? -2 * kDay : -kDay, expired ? -kDay : 30 * kDay);
  const bool self_signed = kind == ServerCertificate::kSelfSigned;
  X509* issuer = self_signed ? cert.get() : ca.get();
  add_extension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), issuer, NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), issuer, NID_subject_alt_name,
                kind == ServerCertificate::kWrongHost ? "DNS:wrong.example" : "IP:127.0.0.1,DNS:localhost");
  if (!self_signed) add_extension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
  sign(cert.get(), issuer, self_signed ? key.get() : ca_key.get());

  TlsFiles files;
  files.ca_file = (dir / "ca.pem").string();
  files.cert_file = (dir / (std::string(name_of(kind)) + ".pem")).string();
  files.key_file = (dir / (std::string(name_of(kind)) + ".key")).string();
  write_pem(files.ca_file, [&](BIO* b) { return PEM_write_bio_X509(b, ca.get()); });
  write_pem(files.cert_file, [&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
  write_pem(files.key_file,
            [&](BIO* b) { return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  return files;
}

}  // namespace referkit::test
