// The README's native client example, built against the installed package; scripts/test runs it
// against the server example beside it (main.cpp).
#include <switchboard/client/client.hpp>

#include <future>
#include <iostream>

namespace sb = switchboard::client;

int main(int argc, char** argv) {
    sb::connection io(argc > 1 ? argv[1] : "http://127.0.0.1:3000"); // its own I/O thread
    sb::socket socket = io.socket("/", {.auth = {{"user", "ann"}}});
    socket.on("ready?", [](sb::event& e) {
        if (e.ack) e.ack("yes"); // the server asked for an answer
    });
    std::promise<std::string> result; // the server tells what it heard, once
    auto heard = result.get_future();
    socket.on("ready-result", [&result](sb::event& e) { result.set_value(e.arg<std::string>(0).value_or("?")); });
    socket.on_connect([socket] { std::cout << "connected as " << socket.id() << std::endl; });
    socket.on_disconnect([](std::string_view reason) { std::cout << "disconnected: " << reason << std::endl; });
    try {
        // Buffered until connected; the answer comes back on this (the main) thread.
        sb::arguments reply = socket.timeout(std::chrono::seconds(5))
                                  .emit_with_ack("chat message", "hi", boost::json::object{{"from", "ann"}})
                                  .get();
        std::cout << "chat message: " << reply.get<std::string>(0).value_or("?") << std::endl;
        if (heard.wait_for(std::chrono::seconds(5)) == std::future_status::ready)
            std::cout << "ready-result: " << heard.get() << std::endl;
    } catch (const std::system_error& e) { // sb::errc::timeout, …
        std::cerr << "chat message: " << e.code().message() << std::endl;
        return 1;
    }
    socket.disconnect();
}
