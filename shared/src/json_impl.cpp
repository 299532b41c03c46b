// Boost.JSON's implementation, compiled once for the whole program (it is header-only otherwise).
#include <boost/json/src.hpp>
