// Asio's and Beast's implementations, compiled once (BOOST_*_SEPARATE_COMPILATION) so that the
// server's other files do not each instantiate them.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
