// Catch2's main; kept alone in its TU because it is the slowest file to compile.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
