// The README's example, built against the installed package (scripts/test runs it with socket.io-client).
#include <switchboard/io/io.hpp>
#include <switchboard/server/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <iostream>

namespace sb = switchboard;

int main(int argc, char** argv) {
    sb::server::server_config config;
    switch (sb::server::parse_command_line(argc, argv, config, std::cout, std::cerr, "hello_switchboard")) {
    case sb::server::cli_action::exit_success: return 0;
    case sb::server::cli_action::exit_failure: return 2;
    case sb::server::cli_action::run: break;
    }
    // The application may use Asio itself: the package hands it the configuration its library was
    // built with (one Asio in the program).
    boost::asio::io_context own;
    boost::asio::steady_timer timer(own, std::chrono::milliseconds(1));
    timer.async_wait([](boost::system::error_code ec) {
        if (!ec) std::cout << "the application's own Asio timer fired" << std::endl;
    });
    own.run();

    sb::server::server http(config); // transports, static files
    sb::io::server io(http);         // Socket.IO at config.path

    io.on_connection([&io](sb::io::socket& socket) {
        socket.join("lobby");
        socket.on("chat message", [socket](sb::io::event& e) {
            socket.to("lobby").emit_args("chat message", e.args); // the room, but not the sender
            if (e.ack) e.ack("delivered");                        // the client asked for an answer
        });
        socket.timeout(std::chrono::seconds(5)).emit("ready?", [socket](std::error_code ec, sb::io::arguments reply) {
            // ec == sb::io::errc::timeout when no answer came in time
            socket.emit("ready-result", ec ? boost::json::value(ec.message()) : reply[0]);
        });
        socket.on_disconnect(
            [&io, id = socket.id()](std::string_view reason) { io.to("lobby").emit("left", id, std::string(reason)); });
    });

    io.of("/admin").use([](sb::io::socket& s, sb::io::next_fn next) { // middleware
        if (s.handshake().auth.contains("token"))
            next({});
        else
            next(sb::io::connect_error{"not authorized", boost::json::object{{"code", 403}}});
    });
    io.of([](const std::string& name, const boost::json::object&) {
          return name.rfind("/team-", 0) == 0;
      }).on_connection([](sb::io::socket& s) { s.emit("welcome", s.nsp_name()); }); // dynamic namespaces

    http.run(); // until SIGINT/SIGTERM
}
