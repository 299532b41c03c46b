// jemalloc's settings for the server binaries (linked only where CMake found jemalloc; see the
// top-level CMakeLists.txt). A server's memory should follow its load: pages freed by closed sessions
// go back to the system about a second later (dirty_decay_ms), at once when merely unused
// (muzzy_decay_ms: 0), by jemalloc's own thread, so an idle server gives back too.
// MALLOC_CONF in the environment still overrides these.
extern "C" {
// NOLINTNEXTLINE: the name jemalloc reads its built-in options from.
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
