// The chat's parts that need no server: the store's worker thread, and nicknames (NFKC, what is
// refused, the confusable key).
#include "../../server/app/nickname.hpp"
#include "../../server/app/store_worker.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace switchboard;

TEST_CASE("store worker: tasks run in order, off the caller's thread, and all of them before it goes") {
    std::vector<int> order;
    std::atomic<bool> elsewhere{true};
    const auto caller = std::this_thread::get_id();
    {
        chat::store_worker worker;
        for (int i = 0; i < 1000; ++i)
            worker.post([&, i] {
                if (std::this_thread::get_id() == caller) elsewhere = false;
                order.push_back(i);
            });
    } // the destructor finishes the queue
    REQUIRE(order.size() == 1000);
    for (int i = 0; i < 1000; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
    CHECK(elsewhere);
}

TEST_CASE("store worker: a task that throws does not stop the ones after it") {
    int ran = 0;
    {
        chat::store_worker worker;
        worker.post([] { throw std::runtime_error("a store error"); });
        worker.post([&] { ++ran; });
    }
    CHECK(ran == 1);
}

TEST_CASE("nicknames: NFKC for display, invisible and bidi characters refused, look-alikes one key") {
    std::string why;
    CHECK(chat::normalize_nickname("\xEF\xBD\x82\xEF\xBD\x8F\xEF\xBD\x82", 32, why) == "bob"); // fullwidth
    CHECK_FALSE(chat::normalize_nickname("al\xE2\x80\x8B"
                                         "ice",
                                         32, why)); // zero-width space
    CHECK_FALSE(chat::normalize_nickname("abc\xE2\x80\xAE"
                                         "def",
                                         32, why)); // right-to-left override
    CHECK_FALSE(chat::normalize_nickname("a@b", 32, why));
    CHECK_FALSE(chat::normalize_nickname(std::string(33, 'x'), 32, why));
    CHECK(chat::normalize_nickname(std::string(32, 'x'), 32, why));
    CHECK(chat::nickname_key("alice") == chat::nickname_key("ALICE"));
    CHECK(chat::nickname_key("alice") == chat::nickname_key("\xD0\xB0lice")); // a Cyrillic a
    CHECK(chat::nickname_key("alice") != chat::nickname_key("alicia"));
}
