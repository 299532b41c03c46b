// The classic Redis adapter's requests and responses, against the lines captured from Node nodes and
// the emitter (../shared/REDIS-WIRE.md §1.4, §2): read as sent, and written byte for byte as Node does.
#include "adapter/redis/classic_requests.hpp"

#include <switchboard/json.hpp>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace switchboard;
using namespace switchboard::server;
using redis_wire::request_type;

TEST_CASE("requests captured from Node nodes and the emitter are read as sent", "[redis][requests]") {
    auto fetch =
        redis_wire::decode_request(R"({"uid":"GUYEir","requestId":"0tGiuq","type":5,"opts":{"rooms":[],"except":[]}})");
    REQUIRE(fetch);
    CHECK(fetch->type == request_type::remote_fetch);
    CHECK(fetch->uid == "GUYEir");
    CHECK(fetch->request_id == "0tGiuq");
    CHECK(fetch->options.rooms.empty());

    auto join = redis_wire::decode_request(
        R"({"uid":"GUYEir","type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room9"]})");
    REQUIRE(join);
    CHECK(join->type == request_type::remote_join);
    CHECK(join->request_id.empty()); // no answer expected
    CHECK(join->options.rooms == std::vector<std::string>{"room1"});
    CHECK(join->rooms == std::vector<std::string>{"room9"});

    auto emit = redis_wire::decode_request(R"({"uid":"qgXt_G","requestId":"AD1H1O","type":6,"data":["greet","hi2"]})");
    REQUIRE(emit);
    CHECK(emit->type == request_type::server_side_emit);
    CHECK(stringify(emit->packet.data) == R"(["greet","hi2"])");

    // The emitter sends no uid.
    auto kick = redis_wire::decode_request(R"({"type":4,"opts":{"rooms":["room7"],"except":[]},"close":true})");
    REQUIRE(kick);
    CHECK(kick->type == request_type::remote_disconnect);
    CHECK(kick->uid.empty());
    CHECK(kick->close);
    CHECK(kick->options.rooms == std::vector<std::string>{"room7"});
}

TEST_CASE("our requests and responses are byte for byte the Node adapter's", "[redis][requests]") {
    CHECK(redis_wire::encode_fetch_request("GUYEir", "0tGiuq", {}) ==
          R"({"uid":"GUYEir","requestId":"0tGiuq","type":5,"opts":{"rooms":[],"except":[]}})");
    io::broadcast_options in_room1;
    in_room1.rooms = {"room1"};
    CHECK(redis_wire::encode_join_request("GUYEir", in_room1, {"room9"}, false) ==
          R"({"uid":"GUYEir","type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room9"]})");
    CHECK(redis_wire::encode_server_side_emit("qgXt_G", "AD1H1O", boost::json::array{"greet", "hi2"}) ==
          R"({"uid":"qgXt_G","requestId":"AD1H1O","type":6,"data":["greet","hi2"]})");
    CHECK(redis_wire::encode_client_count("OdCBGa", 1) == R"({"type":8,"requestId":"OdCBGa","clientCount":1})");
    CHECK(redis_wire::encode_rooms_response("xoeYtF", {"WXWjHrhh6AO0mnGbAAAB", "room1"}) ==
          R"({"requestId":"xoeYtF","rooms":["WXWjHrhh6AO0mnGbAAAB","room1"]})");
}

TEST_CASE("the requests Node v8 no longer sends but still answers, and our answers' signature", "[redis][requests]") {
    const auto sockets = redis_wire::encode_sockets_request("GUYEir", "0tGiuq", {"room1"});
    CHECK(sockets == R"({"uid":"GUYEir","requestId":"0tGiuq","type":0,"rooms":["room1"]})");
    auto read = redis_wire::decode_request(sockets);
    REQUIRE(read);
    CHECK(read->type == request_type::sockets);
    CHECK(read->options.rooms == std::vector<std::string>{"room1"});
    CHECK(redis_wire::encode_legacy_ack("AD1H1O") == R"({"requestId":"AD1H1O"})");
    // Our node adds its uid after the fields Node reads, so that the asker can tell who answered.
    CHECK(redis_wire::encode_sockets_response("xoeYtF", {"s1"}, "qgXt_G") ==
          R"({"requestId":"xoeYtF","sockets":["s1"],"uid":"qgXt_G"})");
    CHECK(redis_wire::encode_client_count("OdCBGa", 2, "qgXt_G") ==
          R"({"type":8,"requestId":"OdCBGa","clientCount":2,"uid":"qgXt_G"})");
    auto answer = redis_wire::decode_response(R"({"requestId":"xoeYtF","sockets":["s1"],"uid":"qgXt_G"})");
    REQUIRE(answer);
    CHECK(answer->body.at("uid").as_string() == "qgXt_G");
}

TEST_CASE("a broadcast with acks and its acks travel as MessagePack, binary inline", "[redis][requests]") {
    sio::packet p;
    p.nsp = "/chat";
    p.data = boost::json::array{"question"};
    p.data.as_array().push_back(sio::attach(p.attachments, make_shared_bytes(std::string("\x01\x02", 2))));
    io::broadcast_options o;
    o.rooms = {"r"};
    o.timeout = std::chrono::milliseconds(2000);
    const auto bytes = redis_wire::encode_broadcast_request("me", "req1", p, o);
    REQUIRE(bytes.front() != '{');
    auto r = redis_wire::decode_request(bytes);
    REQUIRE(r);
    CHECK(r->type == request_type::broadcast);
    CHECK(r->request_id == "req1");
    CHECK(r->packet.nsp == "/chat");
    REQUIRE(r->packet.attachments.size() == 1);
    CHECK(*r->packet.attachments[0] == *p.attachments[0]);
    CHECK(r->options.timeout == std::chrono::milliseconds(2000));

    std::vector<shared_bytes> reply_bytes;
    const auto answer = sio::attach(reply_bytes, make_shared_bytes(std::string("ok")));
    auto ack = redis_wire::decode_response(redis_wire::encode_broadcast_ack("req1", answer, reply_bytes));
    REQUIRE(ack);
    CHECK(ack->type == request_type::broadcast_ack);
    CHECK(ack->request_id == "req1");
    REQUIRE(ack->attachments.size() == 1);
    CHECK(std::string(ack->attachments[0]->begin(), ack->attachments[0]->end()) == "ok");

    auto count = redis_wire::decode_response(R"({"type":8,"requestId":"OdCBGa","clientCount":1})");
    REQUIRE(count);
    CHECK(count->type == request_type::broadcast_client_count);
    CHECK(count->body.at("clientCount") == 1);
    auto rooms = redis_wire::decode_response(R"({"requestId":"xoeYtF","rooms":["a"]})");
    REQUIRE(rooms);
    CHECK_FALSE(rooms->type); // responses 0, 1 and 5 carry no type
}

TEST_CASE("requests of the wrong shape are refused", "[redis][requests]") {
    for (const char* bad : {R"({"type":10})", R"({"type":"5"})", R"({"uid":"x"})", R"([1])", R"({"type":6,"data":[]})",
                            R"({"type":6,"data":"x"})", R"({"type":2,"rooms":{"a":1}})",
                            R"({"type":7,"packet":{"data":["connect"]}})", "{", "\xc1"}) {
        CAPTURE(bad);
        CHECK_FALSE(redis_wire::decode_request(bad));
    }
    CHECK_FALSE(redis_wire::decode_response(R"({"rooms":[]})")); // no requestId
}
