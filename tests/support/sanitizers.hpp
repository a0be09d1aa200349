// Which sanitizer a test binary is built with, for the few tests a sanitizer cannot run.
#ifndef REFERKIT_TESTS_SUPPORT_SANITIZERS_HPP
#define REFERKIT_TESTS_SUPPORT_SANITIZERS_HPP

namespace referkit::test {

// GCC 12's AddressSanitizer allocator is not fork-safe: a child forked while another thread is
// inside an allocation (the tracker's worker starting, the spool committer preparing a segment)
// can deadlock on its first allocation. glibc's malloc is fork-safe, so the plain and TSan
// presets run these tests; the ASan preset skips the ones that fork with threads running.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kForkUnsafeAllocator = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kForkUnsafeAllocator = true;
#else
inline constexpr bool kForkUnsafeAllocator = false;
#endif
#else
inline constexpr bool kForkUnsafeAllocator = false;
#endif

// ASan and TSan reserve terabytes of address space for their shadow memory, so a test cannot cap
// a child's address space (RLIMIT_AS) under them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kShadowMemory = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kShadowMemory = true;
#else
inline constexpr bool kShadowMemory = false;
#endif
#else
inline constexpr bool kShadowMemory = false;
#endif

}  // namespace referkit::test

#endif  // REFERKIT_TESTS_SUPPORT_SANITIZERS_HPP
