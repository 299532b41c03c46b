#include <switchboard/eio/handshake.hpp>

#include <catch2/catch.hpp>

using namespace switchboard;

TEST_CASE("the open packet's JSON has the reference server's fields and order", "[eio][handshake]") {
    eio::handshake h;
    h.sid = "lv_VI97HAXpY6yYWAAAC";
    h.upgrades = {"websocket"};
    h.ping_interval = 25000;
    h.ping_timeout = 5000;
    h.max_payload = 1000000;
    const std::string json = eio::encode_handshake(h);
    // The example of the engine.io-protocol README, byte for byte.
    CHECK(json == R"({"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,)"
                  R"("pingTimeout":5000,"maxPayload":1000000})");
    const auto back = eio::decode_handshake(json);
    REQUIRE(back);
    CHECK(*back == h);

    h.upgrades.clear();
    CHECK(eio::encode_handshake(h) == R"({"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,)"
                                      R"("pingTimeout":5000,"maxPayload":1000000})");
}

TEST_CASE("handshake decoding accepts any field order and defaults maxPayload", "[eio][handshake]") {
    const auto h = eio::decode_handshake(R"({"pingTimeout":200,"pingInterval":300,"sid":"abc"})");
    REQUIRE(h);
    CHECK(h->sid == "abc");
    CHECK(h->ping_interval == 300);
    CHECK(h->ping_timeout == 200);
    CHECK(h->max_payload == 1000000);
    CHECK(h->upgrades.empty());
}

TEST_CASE("handshake decoding refuses missing or mistyped fields", "[eio][handshake][errors]") {
    for (const char* bad :
         {"", "[]", "{}", R"({"sid":1,"pingInterval":1,"pingTimeout":1})",
          R"({"sid":"a","pingInterval":"1","pingTimeout":1})", R"({"sid":"a","pingInterval":1})",
          R"({"sid":"a","pingInterval":-1,"pingTimeout":1})", R"({"sid":"a","pingInterval":1.5,"pingTimeout":1})",
          R"({"sid":"a","pingInterval":1,"pingTimeout":1,"upgrades":"websocket"})",
          R"({"sid":"a","pingInterval":1,"pingTimeout":1,"upgrades":[1]})",
          R"({"sid":"a","pingInterval":99999999999,"pingTimeout":1})"}) {
        INFO(bad);
        CHECK(eio::decode_handshake(bad).error() == eio::errc::invalid_handshake);
    }
}
