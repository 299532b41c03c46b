// jemalloc's settings for the server binaries (linked only where CMake found jemalloc; see the
// top-level CMakeLists.txt). Pages freed by closed sessions are given back about a second later
// (dirty_decay_ms), at once when merely unused (muzzy_decay_ms: 0), as the allocator runs; the server
// also purges explicitly when a crowd leaves (server/src/server.cpp), which an idle server needs.
// Not background_thread:true: with jemalloc's purging thread, the Redis cluster nodes aborted at start
// in about half of the runs ("pure virtual method called" in the Redis subscriber's connect, on the
// adapter's thread) — a race of ours that the extra thread exposes, to be found; until then, none.
// MALLOC_CONF in the environment still overrides these.
extern "C" {
// NOLINTNEXTLINE: the name jemalloc reads its built-in options from.
const char* malloc_conf = "dirty_decay_ms:1000,muzzy_decay_ms:0";
}
