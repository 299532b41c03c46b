// jemalloc's settings for the server binaries (linked only where CMake found jemalloc; see the
// top-level CMakeLists.txt). Pages freed by closed sessions are given back about a second later
// (dirty_decay_ms), at once when merely unused (muzzy_decay_ms: 0), as the allocator runs; when a
// crowd leaves the server also purges at once (server/src/server.cpp), which covers a server gone
// idle, so jemalloc's own purging thread (background_thread) is not needed: one thread less.
// MALLOC_CONF in the environment still overrides these.
extern "C" {
// NOLINTNEXTLINE: the name jemalloc reads its built-in options from.
const char* malloc_conf = "dirty_decay_ms:1000,muzzy_decay_ms:0";
}
