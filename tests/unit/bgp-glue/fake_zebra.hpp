// A scripted zebra on a unix socket for the client tests: records what the client sends and
// sends whatever the test asks.
#pragma once

#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mpsa/bgp_glue/zapi_codec.hpp"
#include "mpsa/bgp_glue/zapi_framer.hpp"

namespace mpsa::bgp_glue::test {

// Runs the loop until `done` holds or the deadline passes; returns `done()`.
inline bool run_until(asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
    return true;
}

class FakeZebra {
  public:
    FakeZebra(asio::io_context& io, FrrRelease release)
        : io_(io), decoder_(release), encoder_(release), acceptor_(io) {
        static int counter = 0;
        directory_ =
            std::filesystem::temp_directory_path() /
            ("bgp_glue_fake_zebra_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::create_directories(directory_);
        path_ = (directory_ / "zserv.api").string();
    }
    ~FakeZebra() {
        close();
        std::error_code ignored;
        std::filesystem::remove_all(directory_, ignored);
    }

    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] const ZapiEncoder& encoder() const { return encoder_; }

    void listen() {
        std::filesystem::remove(path_);
        acceptor_ = asio::local::stream_protocol::acceptor(io_);
        const asio::local::stream_protocol::endpoint endpoint(path_);
        acceptor_.open(endpoint.protocol());
        acceptor_.bind(endpoint);
        acceptor_.listen();
        accept();
    }

    // Drops the client and stops listening (zebra killed).
    void close() {
        std::error_code ignored;
        acceptor_.close(ignored);
        if (socket_) socket_->close(ignored);
        socket_.reset();
        std::filesystem::remove(path_, ignored);
    }

    // Drops the current client only.
    void drop_client() {
        std::error_code ignored;
        if (socket_) socket_->close(ignored);
        socket_.reset();
    }

    void send(const tl::expected<Bytes, EncodeErrc>& bytes) {
        if (!bytes || !socket_) return;
        auto copy = std::make_shared<Bytes>(*bytes);
        asio::async_write(*socket_, asio::buffer(*copy),
                          [copy](const std::error_code&, std::size_t) {});
    }
    void send_raw(const Bytes& bytes) { send(tl::expected<Bytes, EncodeErrc>(bytes)); }

    [[nodiscard]] bool has_client() const { return socket_ != nullptr; }
    [[nodiscard]] std::size_t accepted() const { return accepted_; }
    std::vector<ZapiMessage> received;
    [[nodiscard]] std::size_t count(Command command) const {
        std::size_t n = 0;
        for (const auto& message : received) n += message.command == command ? 1 : 0;
        return n;
    }
    [[nodiscard]] std::vector<Command> commands() const {
        std::vector<Command> out;
        for (const auto& message : received) out.push_back(message.command);
        return out;
    }

  private:
    void accept() {
        acceptor_.async_accept(
            [this](const std::error_code& error, asio::local::stream_protocol::socket socket) {
                if (error) return;
                ++accepted_;
                socket_ = std::make_unique<asio::local::stream_protocol::socket>(std::move(socket));
                framer_.reset();
                read();
                accept();
            });
    }
    void read() {
        auto* socket = socket_.get();
        socket_->async_read_some(asio::buffer(buffer_),
                                 [this, socket](const std::error_code& error, std::size_t size) {
                                     if (error || socket != socket_.get()) return;
                                     framer_.feed(ByteView(buffer_.data(), size));
                                     while (auto framed = framer_.next()) {
                                         if (!*framed) return;
                                         auto message = decoder_.decode(**framed);
                                         if (message) received.push_back(std::move(*message));
                                     }
                                     read();
                                 });
    }

    asio::io_context& io_;
    ZapiDecoder decoder_;
    ZapiEncoder encoder_;
    ZapiFramer framer_;
    asio::local::stream_protocol::acceptor acceptor_;
    std::unique_ptr<asio::local::stream_protocol::socket> socket_;
    std::array<std::uint8_t, 65536> buffer_{};
    std::filesystem::path directory_;
    std::string path_;
    std::size_t accepted_ = 0;
};

}  // namespace mpsa::bgp_glue::test
