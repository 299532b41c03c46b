// Asio's OpenSSL streams, compiled once for the client (the server has a TLS engine of its own).
#include <boost/asio/ssl/impl/src.hpp>
