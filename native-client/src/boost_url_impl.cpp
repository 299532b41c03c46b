// Boost.URL's implementation, compiled here (Debian ships it as headers).
#include <boost/url/src.hpp>
