// doctest's main lives here (not doctest_with_main) so the tests build against vcpkg's doctest too.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
