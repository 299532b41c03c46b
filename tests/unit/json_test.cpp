#include <switchboard/json.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using switchboard::parse_json;
using switchboard::stringify;

namespace {
std::string number(double d) {
    std::string out;
    switchboard::stringify_number(out, d);
    return out;
}
std::string restringify(std::string_view json) {
    auto v = parse_json(json, 32);
    REQUIRE(v);
    return stringify(*v);
}
} // namespace

TEST_CASE("numbers are written as JavaScript's Number#toString writes them", "[json]") {
    CHECK(number(0) == "0");
    CHECK(number(-0.0) == "0");
    CHECK(number(1) == "1");
    CHECK(number(1.5) == "1.5");
    CHECK(number(-2.25) == "-2.25");
    CHECK(number(0.1) == "0.1");
    CHECK(number(0.1 + 0.2) == "0.30000000000000004");
    CHECK(number(123456789) == "123456789");
    CHECK(number(1e20) == "100000000000000000000");
    CHECK(number(1e21) == "1e+21");
    CHECK(number(1.5e300) == "1.5e+300");
    CHECK(number(0.000001) == "0.000001");
    CHECK(number(1e-7) == "1e-7");
    CHECK(number(1.25e-7) == "1.25e-7");
    CHECK(number(123.456) == "123.456");
    CHECK(number(5e-324) == "5e-324");
    CHECK(number(std::numeric_limits<double>::max()) == "1.7976931348623157e+308");
    CHECK(number(std::nan("")) == "null");
    CHECK(number(std::numeric_limits<double>::infinity()) == "null");
}

TEST_CASE("integers beyond 2^53 are written as the double JavaScript would hold", "[json]") {
    CHECK(stringify(boost::json::value(std::int64_t{9007199254740991})) == "9007199254740991");
    CHECK(stringify(boost::json::value(std::int64_t{-9007199254740991})) == "-9007199254740991");
    CHECK(stringify(boost::json::value(std::uint64_t{18446744073709551615u})) == "18446744073709552000");
    CHECK(restringify("12345678901234567890") == "12345678901234567000");
}

TEST_CASE("doubles are read correctly rounded, as JSON.parse reads them", "[json]") {
    // Values whose text Boost 1.81's fast conversion misreads by one unit in the last place; the
    // expected texts are what node prints for JSON.stringify(JSON.parse(input)).
    CHECK(restringify("[1234567890123456078945678901234587690]") == "[1.2345678901234561e+36]");
    CHECK(restringify("[1.2345678901234561e+36]") == "[1.2345678901234561e+36]");
    CHECK(restringify("[0.30000000000000004,2.2250738585072014e-308,1e400,-1e-400]") ==
          "[0.30000000000000004,2.2250738585072014e-308,null,0]");
}

TEST_CASE("strings use JSON.stringify's escapes and keep unicode as is", "[json]") {
    CHECK(stringify(boost::json::value("plain")) == "\"plain\"");
    CHECK(stringify(boost::json::value("q\"b\\s/")) == "\"q\\\"b\\\\s/\"");
    CHECK(stringify(boost::json::value("\b\f\n\r\t")) == "\"\\b\\f\\n\\r\\t\"");
    CHECK(stringify(boost::json::value(std::string("\x00\x01\x1f\x7f", 4))) == "\"\\u0000\\u0001\\u001f\x7f\"");
    CHECK(stringify(boost::json::value("€ 日本 😀 \xe2\x80\xa8")) == "\"€ 日本 😀 \xe2\x80\xa8\"");
    CHECK(restringify(R"("\u00e9\ud83d\ude00")") == "\"é😀\"");
}

TEST_CASE("documents keep their member order and lose insignificant whitespace", "[json]") {
    CHECK(restringify(R"( { "b" : 1 , "a" : [ true , false , null , 1.0 , -0 , 1e2 ] } )") ==
          R"({"b":1,"a":[true,false,null,1,0,100]})");
    CHECK(restringify("[]") == "[]");
    CHECK(restringify("{}") == "{}");
    CHECK(restringify(R"([[[{"x":{"y":[]}}]]])") == R"([[[{"x":{"y":[]}}]]])");
}

TEST_CASE("parse_json refuses bad JSON and excessive depth with error values", "[json]") {
    CHECK_FALSE(parse_json("", 32));
    CHECK_FALSE(parse_json("[1,]", 32));
    CHECK_FALSE(parse_json("{\"a\":1}x", 32));
    CHECK_FALSE(parse_json("'single'", 32));
    CHECK_FALSE(parse_json("\"\xff\"", 32)); // invalid UTF-8
    CHECK_FALSE(parse_json("NaN", 32));
    CHECK(parse_json("[[[1]]]", 3));
    const auto deep = parse_json("[[[[1]]]]", 3);
    REQUIRE_FALSE(deep);
    CHECK(deep.error() == boost::json::error::too_deep);
    std::string very_deep(100000, '[');
    CHECK_FALSE(parse_json(very_deep, 32)); // no recursion, no crash
}
